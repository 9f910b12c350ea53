import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fixturesRoot } from '../../training/data/corpora';
import { embeddingText } from '../../training/embeddings/cache';
import { trainEmbeddings } from '../../training/embeddings/fasttext';
import { EmbeddingTable } from '../../training/embeddings/store';
import { initBackend } from '../../training/engine/backend';
import { evaluateModel } from '../../training/eval/evaluate-model';
import { loadModel, ModelFormatError, saveModel } from '../../training/model/model-io';
import type { NerModel } from '../../training/model/ner-model';
import { tagText } from '../../training/model/tag-text';
import { trainSupervised } from '../../training/train/supervised';
import { loadCorpora, trainingDataOf } from '../../training/train/training-data';

let model: NerModel;
let dir: string;

before(async () => {
  await initBackend('wasm');
  const words = EmbeddingTable.fromTrained(await trainEmbeddings(embeddingText(fixturesRoot()), { dim: 32, epochs: 2, buckets: 20000 }));
  // Two corpora with different types: one tagger over Disease and Chemical with the partial-label loss.
  const data = trainingDataOf(loadCorpora(fixturesRoot(), ['NCBI-disease', 'BC5CDR-chem']));
  const result = await trainSupervised(data, words, { name: 'fixture-test', trainedOn: ['NCBI-disease', 'BC5CDR-chem'] }, { epochs: 8, hidden: 32, batchSize: 8, lr: 1.5e-2, patience: 8, seed: 3 });
  model = result.model;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-model-'));
});

test('a tagger trained on two corpus samples learns both types', () => {
  assert.deepEqual([...model.types].sort(), ['Chemical', 'Disease']);
  const train = loadCorpora(fixturesRoot(), ['NCBI-disease', 'BC5CDR-chem']);
  for (const c of train) {
    const f1 = evaluateModel(model, c.train, c.types).f1;
    // Measured 0.45 (Disease) and 0.64 (Chemical) after 8 epochs; an untrained tagger scores 0.
    assert.ok(f1 > 0.35, `${c.name} train F1 ${f1}`);
  }
});

test('save → load gives the same predictions; tagging raw text gives offsets into it', () => {
  saveModel(model, dir);
  const loaded = loadModel(dir);
  const text = 'Cisplatin caused acute renal failure. Patients with breast cancer were treated with doxorubicin.';
  const a = tagText(model, text);
  const b = tagText(loaded, text);
  assert.deepEqual(b, a);
  for (const e of a) {
    assert.equal(text.slice(e.start, e.end), e.text);
    assert.ok(e.confidence > 0 && e.confidence <= 1);
  }
  loaded.dispose();
});

test('corrupt, truncated or foreign model directories are refused with a clear message', () => {
  saveModel(model, dir);
  const weights = path.join(dir, 'weights.bin');
  const bytes = fs.readFileSync(weights);
  bytes[100] ^= 0xff;
  fs.writeFileSync(weights, bytes);
  assert.throws(() => loadModel(dir), (e: unknown) => e instanceof ModelFormatError && /checksum/.test(e.message));
  fs.writeFileSync(weights, bytes.subarray(0, 1000));
  assert.throws(() => loadModel(dir), /weights\.bin has 1000 bytes/);
  fs.writeFileSync(path.join(dir, 'manifest.json'), '{"format": "something-else"');
  assert.throws(() => loadModel(dir), /manifest\.json is not valid JSON/);
  assert.throws(() => loadModel(path.join(dir, 'missing')), /no such directory/);
  saveModel(model, dir);
  fs.writeFileSync(path.join(dir, 'embeddings.bin'), 'junk');
  assert.throws(() => loadModel(dir), /word vectors: .*not a MetaBioNER embeddings file/);
});

test('saving over an existing model replaces it whole', () => {
  saveModel(model, dir);
  const before = fs.readdirSync(path.dirname(dir)).filter((n) => n.includes(path.basename(dir)));
  saveModel(model, dir);
  assert.deepEqual(fs.readdirSync(path.dirname(dir)).filter((n) => n.includes(path.basename(dir))), before, 'no temporary siblings left');
  const loaded = loadModel(dir);
  assert.equal(loaded.parameterCount, model.parameterCount);
  loaded.dispose();
});

test('prediction leaves no tensors behind', () => {
  const n = tf.memory().numTensors;
  model.predict([['Cisplatin', 'nephrotoxicity', '.'], [], ['breast', 'cancer']]);
  assert.equal(tf.memory().numTensors, n);
});

test('text without sentence breaks is tagged in bounded pieces, offsets intact', () => {
  const text = Array.from({ length: 700 }, (_, i) => (i % 50 === 7 ? 'cisplatin' : `w${i}`)).join(' ');
  const entities = tagText(model, text);
  for (const e of entities) assert.equal(text.slice(e.start, e.end), e.text);
  assert.ok(entities.every((e) => e.sentence === 0));
});
