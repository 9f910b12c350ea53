import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_SETTINGS } from '../../server/protocol';
import { toSettings } from '../../server/settings';

const root = path.resolve(__dirname, '..', '..');

test('the settings schema in package.json and the typed settings agree, key by key and default by default', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, { default: unknown }> } } };
  const props = manifest.contributes.configuration.properties;
  // trace.server and the editor's own settings (decorations, hardness view: test/extension) are the client's.
  const schemaKeys = Object.keys(props).filter((k) => k !== 'metabioner.trace.server' && !/^metabioner\.(decorations|hardness)\./.test(k));
  assert.deepEqual(schemaKeys.sort(), Object.keys(DEFAULT_SETTINGS).map((k) => `metabioner.${k}`).sort());
  for (const [key, value] of Object.entries(DEFAULT_SETTINGS)) assert.deepEqual(props[`metabioner.${key}`].default, value, key);
});

test('settings from the client are checked: wrong types and out-of-range values fall back to the defaults', () => {
  assert.deepEqual(toSettings(undefined), DEFAULT_SETTINGS);
  const s = toSettings({ minConfidence: 2, debounceMs: '5', backend: 'gpu', modelPath: '/m', adaptEpochs: 12.4, extra: true });
  assert.equal(s.minConfidence, DEFAULT_SETTINGS.minConfidence);
  assert.equal(s.debounceMs, DEFAULT_SETTINGS.debounceMs);
  assert.equal(s.backend, 'auto');
  assert.equal(s.modelPath, '/m');
  assert.equal(s.adaptEpochs, 12);
  assert.ok(!('extra' in s));
});

test('server/README.md documents every custom message of the protocol module', () => {
  const protocol = fs.readFileSync(path.join(root, 'server', 'protocol.ts'), 'utf8');
  const readme = fs.readFileSync(path.join(root, 'server', 'README.md'), 'utf8');
  const methods = [...protocol.matchAll(/export const method = '([^']+)'/g)].map((m) => m[1]);
  assert.ok(methods.length >= 20);
  for (const m of methods) assert.ok(readme.includes(`\`${m}\``), `${m} is not in server/README.md`);
});
