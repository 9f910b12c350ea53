/**
 * Hostile and corrupt model directories (the server loads whatever folder a user or a settings file names):
 * each is refused before a single tensor is made, with one line naming the file and the field at fault.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../training/engine/backend';
import { loadModel, MODEL_LIMITS, ModelFormatError, parameterShapes, readModelInfo } from '../../training/model/model-io';
import { initParams, TaggerShape } from '../../training/model/tagger';

const shipped = path.resolve(__dirname, '..', '..', 'models', 'default');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-model-files-'));
before(() => initBackend('cpu'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Manifest = Record<string, unknown> & { shape: Record<string, unknown>; weights: { name: string; shape: number[]; offset: number }[]; types: string[]; chars: string[] };
let copies = 0;

/** A copy of the shipped model with its manifest changed by `edit` (weights and word vectors linked, or changed by `files`). */
function hostile(edit: (m: Manifest) => void, files: (dir: string) => void = () => undefined): string {
  const dir = path.join(tmp, `model-${++copies}`);
  fs.mkdirSync(dir);
  const manifest = JSON.parse(fs.readFileSync(path.join(shipped, 'manifest.json'), 'utf8')) as Manifest;
  edit(manifest);
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  for (const f of ['weights.bin', 'embeddings.bin']) fs.symlinkSync(path.join(shipped, f), path.join(dir, f));
  files(dir);
  return dir;
}

function refused(dir: string, problem: string): void {
  const tensors = tf.memory().numTensors;
  assert.throws(
    () => loadModel(dir),
    (err: unknown) => {
      assert.ok(err instanceof ModelFormatError, String(err));
      assert.equal(err.message, `Cannot load model ${dir}: ${problem}`);
      assert.ok(!err.message.includes('\n'));
      return true;
    },
  );
  assert.equal(tf.memory().numTensors, tensors, 'no tensor was made');
}

const weight = (m: Manifest, name: string) => m.weights.find((w) => w.name === name)!;
// Where the shipped manifest lists things (it changes with the model, e.g. per-corpus conventions add weights).
const shippedManifest = JSON.parse(fs.readFileSync(path.join(shipped, 'manifest.json'), 'utf8')) as Manifest;
const at = (name: string) => shippedManifest.weights.findIndex((w) => w.name === name);
const size = (w: { shape: number[] }) => w.shape.reduce((a, b) => a * b, 1);
const totalBytes = shippedManifest.weights.reduce((n, w) => n + 4 * size(w), 0);

test('a manifest that disagrees with its weights is refused before any tensor, naming the file and the field', () => {
  // The probe: a weight whose shape is not the one the model needs ("Size(175104) must match the product of shape 38,9,28" before).
  refused(hostile((m) => (weight(m, 'dec.crf.end').shape = [38, 9, 28])), `manifest.json: weights[${at('dec.crf.end')}].shape of dec.crf.end is [38, 9, 28], the model's shape implies [11]`);
  // The same number of values in another shape.
  refused(hostile((m) => (weight(m, 'enc.charEmb').shape = [30, 95])), `manifest.json: weights[${at('enc.charEmb')}].shape of enc.charEmb is [30, 95], the model's shape implies [95, 30]`);
  refused(hostile((m) => (m.shape.hidden = 64)), `manifest.json: weights[${shippedManifest.weights.findIndex((w) => w.name.endsWith('.out.W'))}].shape of ${shippedManifest.weights.find((w) => w.name.endsWith('.out.W'))!.name} is [256, 11], the model's shape implies [128, 11]`);
  refused(hostile((m) => (m.shape.layers = 2)), 'manifest.json: weights lacks enc.lstm1.fwd.Wx, enc.lstm1.fwd.Wh, enc.lstm1.fwd.b and 3 more');
  refused(hostile((m) => m.weights.push({ name: 'evil', shape: [1], offset: 0 })), `manifest.json: weights[${shippedManifest.weights.length}].name "evil" is not a parameter of this model`);
  refused(hostile((m) => m.weights.splice(at('dec.crf.trans'), 1)), 'manifest.json: weights lacks dec.crf.trans');
  refused(hostile((m) => (weight(m, 'dec.out.b').offset = 0)), `manifest.json: weights offset of dec.out.b is 0, expected ${size(shippedManifest.weights[0])} (weights must tile weights.bin without gaps or overlaps)`);
  refused(hostile((m) => m.types.push('Virus')), 'manifest.json: shape.numTags is 11, but its 6 types give 13 tags');
  refused(hostile((m) => m.chars.pop()), 'manifest.json: shape.charVocabSize is 95, but "chars" has 94');
  refused(hostile((m) => (m.shape.numDomains = 2)), 'manifest.json: shape.numDomains is 2, but "domains" has 0');
  refused(
    hostile(() => undefined, (dir) => {
      fs.rmSync(path.join(dir, 'weights.bin'));
      fs.writeFileSync(path.join(dir, 'weights.bin'), fs.readFileSync(path.join(shipped, 'weights.bin')).subarray(0, 1000));
    }),
    `weights.bin has 1000 bytes, the manifest's weights take ${totalBytes}`,
  );
});

test('hostile values in a manifest: reserved or oversized names, paths out of the folder, absurd sizes, oversized files', () => {
  refused(hostile((m) => (m.types[0] = 'constructor')), 'manifest.json: types[0]: must not be a reserved name such as "constructor"');
  refused(hostile((m) => (m.types[1] = m.types[0])), 'manifest.json: types: has a type twice');
  refused(hostile((m) => (m.types[0] = 'x'.repeat(1 << 20))), 'manifest.json: types[0]: Too big: expected string to have <=256 characters');
  refused(hostile((m) => (m.embeddings = '../../../etc/passwd')), 'manifest.json: embeddings: must be a file name in the model directory');
  refused(hostile((m) => (m.shape.hidden = 1e9)), 'manifest.json: shape.hidden: Too big: expected number to be <=4096');
  refused(hostile((m) => (m.shape.layers = 1.5)), 'manifest.json: shape.layers: Invalid input: expected int, received number');
  refused(hostile((m) => (m.shape.charWindow = 4)), 'manifest.json: shape.charWindow: must be odd');
  refused(hostile((m) => (m.weights[0].offset = -5)), 'manifest.json: weights[0].offset: Too small: expected number to be >=0');
  refused(hostile((m) => (m.weightsSha256 = 'abc')), 'manifest.json: weightsSha256: must be a SHA-256 in hex');
  refused(hostile((m) => (m.info = { name: 42 })), 'manifest.json: info.name: Invalid input: expected string, received number');
  const big = hostile((m) => (m.padding = ' '.repeat(MODEL_LIMITS.manifestBytes)));
  refused(big, `manifest.json has ${fs.statSync(path.join(big, 'manifest.json')).size} bytes, more than the ${MODEL_LIMITS.manifestBytes} a model file may have`);
  // Listing models reads only manifests, with the same checks.
  assert.throws(() => readModelInfo(hostile((m) => (m.shape.numTags = 'x'))), /^ModelFormatError: Cannot load model .*: manifest\.json: shape\.numTags: Invalid input: expected number, received string$/);
});

test('the shipped model passes the same checks and loads; the checked shapes are the ones the tagger initialises', () => {
  const before = tf.memory().numTensors;
  const model = loadModel(shipped);
  assert.deepEqual(model.types, ['Disease', 'Chemical', 'Gene', 'Cell', 'Species']);
  model.dispose();
  assert.equal(tf.memory().numTensors, before);
  for (const shape of [
    { wordDim: 7, charVocabSize: 11, charDim: 3, charFilters: 5, charWindow: 3, maxWordChars: 9, hidden: 4, layers: 2, residual: true, numTags: 5, numDomains: 0 },
    { wordDim: 6, charVocabSize: 8, charDim: 2, charFilters: 3, charWindow: 5, maxWordChars: 9, hidden: 3, layers: 1, numTags: 3, numDomains: 4 },
  ] satisfies TaggerShape[]) {
    const params = initParams(shape, 1);
    assert.deepEqual(Object.fromEntries(Object.entries(params).map(([n, v]) => [n, v.shape])), parameterShapes(shape));
    for (const v of Object.values(params)) v.dispose();
  }
});
