import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fixturesRoot } from '../../training/data/corpora';
import { initBackend } from '../../training/engine/backend';
import type { NerModel } from '../../training/model/ner-model';
import { trainSupervised } from '../../training/train/supervised';
import { loadCorpora, trainingDataOf } from '../../training/train/training-data';
import { WeightAverage } from '../../training/train/weight-average';
import { HashedVectors } from '../helpers/hashed-vectors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metabioner-average-'));

before(async () => {
  await initBackend('wasm');
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function weights(model: Pick<NerModel, 'params'>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(model.params).map(([n, v]) => [n, Array.from(v.dataSync())]));
}

test('the weight average follows the exponential moving average, with the warm-up decay, and frees what it made', async () => {
  const before = tf.memory().numTensors;
  const w = tf.tidy(() => tf.variable(tf.tensor1d([0, 10]), true, 'avg-test-w'));
  const b = tf.tidy(() => tf.variable(tf.tensor1d([1]), true, 'avg-test-b'));
  const avg = new WeightAverage({ w, b }, 0.5);
  let expected = [0, 10];
  for (const [t, value] of [[1, [2, 2]], [2, [4, 0]], [3, [8, -4]]] as const) {
    tf.tidy(() => w.assign(tf.tensor1d([...value])));
    avg.update(['w']);
    const d = Math.min(0.5, (1 + t) / (10 + t));
    expected = expected.map((e, i) => d * e + (1 - d) * value[i]);
  }
  assert.equal(avg.steps, 3);
  Array.from(avg.tensors().w.dataSync()).forEach((x, i) => assert.ok(Math.abs(x - expected[i]) < 1e-5, `${x} vs ${expected[i]}`));
  // A parameter that did not change is not touched.
  assert.deepEqual(Array.from(avg.tensors().b.dataSync()), [1]);

  const published: string[][] = [];
  const seen = await avg.withAveraged(async () => Array.from(w.dataSync()), (names) => published.push(names));
  seen.forEach((x, i) => assert.ok(Math.abs(x - expected[i]) < 1e-5));
  assert.deepEqual(Array.from(w.dataSync()), [8, -4], 'the trained weights are back');
  assert.equal(published.length, 2);
  await assert.rejects(avg.withAveraged(async () => { throw new Error('evaluation failed'); }), /evaluation failed/);
  assert.deepEqual(Array.from(w.dataSync()), [8, -4], 'the trained weights are back after a failure');
  avg.dispose();
  w.dispose();
  b.dispose();
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => new WeightAverage({}, 1), /decay/);
});

test('training with a weight average saves the averaged weights, and resumes inside an epoch with the result of an uninterrupted run', async () => {
  const data = trainingDataOf(loadCorpora(fixturesRoot(), ['S800']));
  data.train = data.train.slice(0, 40);
  data.devel[0].sentences = data.devel[0].sentences.slice(0, 20);
  const options = { epochs: 2, batchSize: 10, hidden: 8, patience: 5, seed: 9, weightAverage: 0.9 };
  const info = { name: 'average', trainedOn: ['S800/train'] };
  const plain = await trainSupervised(data, new HashedVectors(16), info, { ...options, weightAverage: 0 }, { workers: 2 });
  const straight = await trainSupervised(data, new HashedVectors(16), info, options, { workers: 2 });
  assert.equal(straight.model.info.hyper?.weightAverage, 0.9);
  // Same steps, so the same last weights; the saved model is their average instead.
  assert.notDeepEqual(weights(straight.model), weights(plain.model));
  plain.model.dispose();

  const dir = path.join(tmp, 'within');
  const controller = new AbortController();
  const first = await trainSupervised(data, new HashedVectors(16), info, options, { workers: 2, checkpointDir: dir, checkpointMinutes: 1e-9, signal: controller.signal, onProgress: (p) => p.phase === 'train' && p.step === 6 && controller.abort() });
  first.model.dispose();
  const resumed = await trainSupervised(data, new HashedVectors(16), info, options, { workers: 2, checkpointDir: dir });
  assert.deepEqual(resumed.history.map((h) => [h.epoch, h.loss, h.develF1]), straight.history.map((h) => [h.epoch, h.loss, h.develF1]));
  assert.deepEqual(weights(resumed.model), weights(straight.model));
  resumed.model.dispose();
  straight.model.dispose();
});
