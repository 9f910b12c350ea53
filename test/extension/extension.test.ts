/**
 * The extension's pure parts in plain Node (the rest runs in a real VS Code: test/e2e/): the manifest's
 * contributions agree with the code, the palette, the client settings, the webview's job parameters, the
 * hardness view's formatting, and the extension bundle's size and imports.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CLIENT_DEFAULTS, toClientConfig } from '../../extension/client-settings';
import { findSentenceLine, sentenceLabel } from '../../extension/hardness-format';
import { contributedColours, cssColour, FAMILIES, familyOf } from '../../extension/palette';
import { DEFAULT_FORM, jobParams, METHODS } from '../../media/messages';

const root = path.resolve(__dirname, '..', '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const source = (f: string) => fs.readFileSync(path.join(root, 'extension', f), 'utf8');

test('every contributed command is registered by the extension, and every registered command is contributed', () => {
  const contributed = (manifest.contributes.commands as { command: string }[]).map((c) => c.command).sort();
  const registered = fs
    .readdirSync(path.join(root, 'extension'))
    .filter((f) => f.endsWith('.ts'))
    .flatMap((f) => [...source(f).matchAll(/registerCommand\('([\w.]+)'/g)].map((m) => m[1]))
    .sort();
  assert.deepEqual(registered, contributed);
  for (const m of Object.values(manifest.contributes.menus as Record<string, { command: string }[]>).flat()) assert.ok(contributed.includes(m.command), m.command);
  for (const k of manifest.contributes.keybindings as { command: string }[]) assert.ok(contributed.includes(k.command), k.command);
});

test('the theme colours in package.json are the palette, and each type maps to a family', () => {
  assert.deepEqual(manifest.contributes.colors, contributedColours());
  assert.equal(manifest.contributes.colors.length, FAMILIES.length * 2);
  assert.equal(familyOf('Disease'), 'disease');
  assert.equal(familyOf('Chemical'), 'chemical');
  assert.equal(familyOf('Gene'), 'gene');
  assert.equal(familyOf('Species'), 'species');
  assert.equal(familyOf('CellLine'), 'cell');
  assert.match(familyOf('Anatomy'), /^other[123]$/);
  assert.equal(familyOf('Anatomy'), familyOf('Anatomy'));
  assert.equal(cssColour('#E69F00'), 'rgb(230, 159, 0)');
  assert.equal(cssColour('#E69F0040'), 'rgba(230, 159, 0, 0.251)');
});

test('the client settings: schema defaults agree with the typed defaults; bad values fall back', () => {
  const props = manifest.contributes.configuration.properties as Record<string, { default: unknown }>;
  for (const [key, value] of Object.entries(CLIENT_DEFAULTS)) assert.deepEqual(props[`metabioner.${key}`]?.default, value, key);
  const c = toClientConfig((k) => ({ 'hardness.k': 500, 'hardness.tasks': 'x', 'decorations.colors': { Disease: '#123456', Gene: 'red' }, 'decorations.enabled': false } as Record<string, unknown>)[k]);
  assert.deepEqual(c, { decorations: { enabled: false, colors: { Disease: '#123456' } }, hardness: { k: 100, tasks: 6, innerSteps: 2 }, corporaRoot: '', workers: 0 });
  // The server's worker-count setting, read as the training panel's default: clamped like the server does.
  assert.equal(toClientConfig((k) => (k === 'workers' ? 3 : undefined)).workers, 3);
  assert.equal(toClientConfig((k) => (k === 'workers' ? -2 : undefined)).workers, 0);
  assert.equal(toClientConfig((k) => (k === 'workers' ? 'all' : undefined)).workers, 0);
});

test('the training panel turns its form into the server job of each method', () => {
  assert.equal(METHODS.length, 8);
  assert.deepEqual(jobParams({ ...DEFAULT_FORM, method: 'maml', root: '/c', k: 3, iterations: 40 }), {
    kind: 'meta', method: 'maml', target: 'Disease', corporaRoot: '/c', k: 3, iterations: 40, tasksPerIteration: 4, innerSteps: 2, hidden: 64, seed: 1, workers: 0, checkpointEvery: 4,
  });
  assert.deepEqual(jobParams({ ...DEFAULT_FORM, method: 'mtl-hierarchical', corpora: ['A', 'B'] }), { kind: 'multitask', corpora: ['A', 'B'], corporaRoot: undefined, sharing: 'hierarchical', epochs: 100, hidden: 64, seed: 1, workers: 0 });
  assert.equal(jobParams({ ...DEFAULT_FORM, method: 'supervised', corpora: ['A'] }).kind, 'supervised');
  // The panel's "Workers" field (0 = every core) goes into every kind of job.
  for (const method of ['supervised', 'metabioner', 'mtl-unified'] as const) assert.equal(jobParams({ ...DEFAULT_FORM, method, corpora: ['A', 'B'], workers: 2 }).workers, 2);
});

test('hardness view: a sentence with its entities highlighted, found again in its corpus file', () => {
  const s = { tokens: ['Cisplatin', 'causes', 'acute', 'renal', 'failure', '.'], entities: [{ type: 'Chemical', start: 0, end: 1 }, { type: 'Disease', start: 2, end: 5 }] };
  const l = sentenceLabel(s);
  assert.equal(l.text, 'Cisplatin causes acute renal failure .');
  assert.deepEqual(l.highlights.map(([a, b]) => l.text.slice(a, b)), ['Cisplatin', 'acute renal failure']);
  const file = 'Other\tO\n.\tO\n\nCisplatin\tB-Chemical\ncauses\tO\nacute\tB-Disease\nrenal\tI-Disease\nfailure\tI-Disease\n.\tO\n';
  assert.equal(findSentenceLine(file, s.tokens), 3);
  assert.equal(findSentenceLine(file, ['Cisplatin', 'heals']), undefined);
});

test('the extension bundle holds no training code, no TensorFlow, nothing of the server but its protocol', () => {
  const bundle = path.join(root, 'dist', 'extension.js');
  assert.ok(fs.existsSync(bundle), 'npm run build first');
  const size = fs.statSync(bundle).size;
  assert.ok(size < 600_000, `dist/extension.js is ${size} bytes`);
  const text = fs.readFileSync(bundle, 'utf8');
  assert.ok(!text.includes('@tensorflow'), 'no TensorFlow');
  assert.ok(!/worker_threads/.test(text), 'no worker threads');
  assert.equal(manifest.main, './dist/extension.js');
});
