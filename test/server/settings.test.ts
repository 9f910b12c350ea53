import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_SETTINGS, type JobParams, type SupervisedJobParams } from '../../server/protocol';
import { MAX_WORKERS, toSettings } from '../../server/settings';
import { jobKind, workerCount } from '../../server/worker/job-kinds';
import { defaultWorkers } from '../../training/parallel/worker-entry';

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

test('the workers setting: whole numbers ≥ 0 are kept (0 = every core), others are rounded and clamped, non-numbers are the default', () => {
  assert.equal(DEFAULT_SETTINGS.workers, 0);
  assert.equal(toSettings({ workers: 3 }).workers, 3);
  assert.equal(toSettings({ workers: 0 }).workers, 0);
  assert.equal(toSettings({ workers: 2.6 }).workers, 3);
  assert.equal(toSettings({ workers: -4 }).workers, 0);
  assert.equal(toSettings({ workers: 1e6 }).workers, MAX_WORKERS);
  assert.equal(toSettings({ workers: '4' }).workers, DEFAULT_SETTINGS.workers);
  assert.equal(toSettings({ workers: Number.NaN }).workers, DEFAULT_SETTINGS.workers);
});

test('a job trains with its own worker count, else the setting; 0 is every core; a bad count is refused before a worker starts', () => {
  const job: SupervisedJobParams = { kind: 'supervised', corpora: ['A'] };
  assert.equal(workerCount({ ...job, workers: 3 }, { workers: 1 }), 3);
  assert.equal(workerCount(job, { workers: 2 }), 2);
  assert.equal(workerCount(job, { workers: 0 }), defaultWorkers());
  assert.equal(workerCount({ ...job, workers: 0 }, { workers: 5 }), defaultWorkers());
  for (const kind of ['supervised', 'meta', 'multitask'] as const) {
    const valid: JobParams =
      kind === 'meta' ? { kind, method: 'metabioner', target: 'Disease' } : kind === 'multitask' ? { kind, corpora: ['A', 'B'] } : job;
    assert.doesNotThrow(() => jobKind(kind).validate({ ...valid, workers: 2 }));
    assert.throws(() => jobKind(kind).validate({ ...valid, workers: 1.5 }), /"workers" must be a whole number ≥ 0/);
    assert.throws(() => jobKind(kind).validate({ ...valid, workers: -1 }), /"workers" must be a whole number ≥ 0/);
  }
});

test('server/README.md documents every custom message of the protocol module', () => {
  const protocol = fs.readFileSync(path.join(root, 'server', 'protocol.ts'), 'utf8');
  const readme = fs.readFileSync(path.join(root, 'server', 'README.md'), 'utf8');
  const methods = [...protocol.matchAll(/export const method = '([^']+)'/g)].map((m) => m[1]);
  assert.ok(methods.length >= 20);
  for (const m of methods) assert.ok(readme.includes(`\`${m}\``), `${m} is not in server/README.md`);
});
