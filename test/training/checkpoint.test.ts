import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fixturesRoot, listCorpora, loadSplit } from '../../training/data/corpora';
import { initBackend } from '../../training/engine/backend';
import { metaTrain } from '../../training/meta/meta-train';
import { metaTrainingCorpora } from '../../training/meta/tasks';
import { trainMultiTask } from '../../training/multitask/mtl-train';
import type { NerModel } from '../../training/model/ner-model';
import { CheckpointError } from '../../training/train/checkpoint';
import { TrainHooks, trainSupervised } from '../../training/train/supervised';
import { loadCorpora, trainingDataOf } from '../../training/train/training-data';
import { HashedVectors } from '../helpers/hashed-vectors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metabioner-ckpt-'));

before(async () => {
  await initBackend('wasm');
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function weights(model: Pick<NerModel, 'params'>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(model.params).map(([n, v]) => [n, Array.from(v.dataSync())]));
}

test('a stopped meta-training run resumes from its checkpoint and ends with the weights of an uninterrupted run', async () => {
  const sources = metaTrainingCorpora('Species', listCorpora(fixturesRoot()));
  const corpora = Object.fromEntries(sources.map((c) => [c, loadSplit(fixturesRoot(), c, 'train')]));
  const options = { method: 'metabioner' as const, k: 3, iterations: 6, tasksPerIteration: 2, innerSteps: 1, hidden: 8, seed: 5 };
  const straight = await metaTrain(corpora, new HashedVectors(16), options);

  const dir = path.join(tmp, 'meta');
  const tensorsBefore = tf.memory().numTensors;
  const controller = new AbortController();
  const first = await metaTrain(corpora, new HashedVectors(16), options, {
    checkpointDir: dir,
    checkpointEvery: 2,
    signal: controller.signal,
    onIteration: (r) => r.iteration === 3 && controller.abort(),
  });
  assert.equal(first.iterations, 3);
  assert.ok(first.cancelled);
  first.model.dispose();
  assert.equal(tf.memory().numTensors, tensorsBefore, 'checkpointing leaked tensors');

  const seen: number[] = [];
  // Different options on resume are ignored: the checkpoint's own are used.
  const resumed = await metaTrain(corpora, new HashedVectors(16), { ...options, seed: 99 }, { checkpointDir: dir, onIteration: (r) => seen.push(r.iteration) });
  assert.deepEqual(seen, [4, 5, 6]);
  assert.equal(resumed.iterations, 6);
  assert.deepEqual(weights(resumed.model), weights(straight.model));
  resumed.model.dispose();
  straight.model.dispose();

  await assert.rejects(
    trainSupervised(trainingDataOf(loadCorpora(fixturesRoot(), ['S800'])), new HashedVectors(16), { name: 'x', trainedOn: [] }, {}, { checkpointDir: dir }),
    CheckpointError,
  );
});

/**
 * Runs `train` into `dir`, cancelled as soon as its second epoch starts, then again from the checkpoint; checks
 * that the second run trains only epoch 2 and returns its result.
 */
async function stopInEpoch2AndResume<R extends { model: { dispose(): void }; stoppedBy: string }>(dir: string, train: (hooks: TrainHooks) => Promise<R>): Promise<R> {
  const controller = new AbortController();
  const first = await train({ checkpointDir: dir, signal: controller.signal, onProgress: (p) => p.epoch === 2 && p.phase === 'train' && controller.abort() });
  assert.equal(first.stoppedBy, 'cancelled');
  first.model.dispose();
  const epochs: number[] = [];
  const resumed = await train({ checkpointDir: dir, onProgress: (p) => p.phase === 'train' && epochs.push(p.epoch) });
  assert.ok(epochs.length > 0 && epochs.every((e) => e === 2), `resumed epochs ${[...new Set(epochs)]}`);
  return resumed;
}

test('supervised training resumes at the epoch after its last checkpoint, with the same result', async () => {
  const data = trainingDataOf(loadCorpora(fixturesRoot(), ['S800']));
  data.train = data.train.slice(0, 40);
  data.devel[0].sentences = data.devel[0].sentences.slice(0, 20);
  const options = { epochs: 2, batchSize: 10, hidden: 8, patience: 5, seed: 3 };
  const info = { name: 'ckpt', trainedOn: ['S800/train'] };
  const straight = await trainSupervised(data, new HashedVectors(16), info, options);

  const dir = path.join(tmp, 'supervised');
  const resumed = await stopInEpoch2AndResume(dir, (hooks) => trainSupervised(data, new HashedVectors(16), info, options, hooks));
  assert.deepEqual(resumed.history, straight.history.map((h, i) => ({ ...h, seconds: resumed.history[i].seconds })));
  assert.deepEqual(weights(resumed.model), weights(straight.model));
  resumed.model.dispose();
  straight.model.dispose();

  fs.writeFileSync(path.join(dir, 'tensors.bin'), 'damaged');
  await assert.rejects(trainSupervised(data, new HashedVectors(16), info, options, { checkpointDir: dir }), /does not match its checksum/);
});

test('a run stopped inside an epoch resumes at the next step of that epoch, with the weights of an uninterrupted run', async () => {
  const data = trainingDataOf(loadCorpora(fixturesRoot(), ['S800']));
  data.train = data.train.slice(0, 40);
  data.devel[0].sentences = data.devel[0].sentences.slice(0, 20);
  const options = { epochs: 2, batchSize: 10, hidden: 8, patience: 5, seed: 9 };
  const info = { name: 'ckpt-within', trainedOn: ['S800/train'] };
  const straight = await trainSupervised(data, new HashedVectors(16), info, options, { workers: 2 });
  const dir = path.join(tmp, 'within');
  const controller = new AbortController();
  // 4 steps per epoch; checkpoints every step (checkpointMinutes ≈ 0), stopped after step 6 (epoch 2, step 2).
  const first = await trainSupervised(data, new HashedVectors(16), info, options, { workers: 2, checkpointDir: dir, checkpointMinutes: 1e-9, signal: controller.signal, onProgress: (p) => p.phase === 'train' && p.step === 6 && controller.abort() });
  assert.equal(first.stoppedBy, 'cancelled');
  first.model.dispose();
  const steps: number[] = [];
  const resumed = await trainSupervised(data, new HashedVectors(16), info, options, { workers: 2, checkpointDir: dir, onProgress: (p) => p.phase === 'train' && steps.push(p.step) });
  assert.deepEqual(steps, [7, 8]);
  assert.deepEqual(resumed.history.map((h) => [h.epoch, h.loss, h.develF1]), straight.history.map((h) => [h.epoch, h.loss, h.develF1]));
  assert.deepEqual(weights(resumed.model), weights(straight.model));
  resumed.model.dispose();
  straight.model.dispose();
});

test('a 2-worker run stopped in epoch 2 resumes with 1 worker and ends where the 2-worker run does, up to float rounding', async () => {
  const data = trainingDataOf(loadCorpora(fixturesRoot(), ['S800']));
  data.train = data.train.slice(0, 40);
  data.devel[0].sentences = data.devel[0].sentences.slice(0, 20);
  const options = { epochs: 2, batchSize: 10, hidden: 8, patience: 5, seed: 3, dropout: 0 };
  const info = { name: 'ckpt-workers', trainedOn: ['S800/train'] };
  const straight = await trainSupervised(data, new HashedVectors(16), info, options, { workers: 2 });
  let calls = 0;
  const resumed = await stopInEpoch2AndResume(path.join(tmp, 'workers'), (hooks) => trainSupervised(data, new HashedVectors(16), info, options, { ...hooks, workers: calls++ === 0 ? 2 : 1 }));
  const a = weights(resumed.model);
  const b = weights(straight.model);
  for (const n of Object.keys(b)) for (let i = 0; i < b[n].length; i++) assert.ok(Math.abs(a[n][i] - b[n][i]) < 1e-4, `${n}[${i}]: ${a[n][i]} vs ${b[n][i]}`);
  resumed.model.dispose();
  straight.model.dispose();
});

test('multi-task training (hierarchical, two corpora, private upper layers) resumes with the weights of an uninterrupted run', async () => {
  const corpora = loadCorpora(fixturesRoot(), ['NCBI-disease', 'S800']).map((c) => ({ ...c, train: c.train.slice(0, 30), devel: c.devel.slice(0, 15) }));
  const options = { sharing: 'hierarchical' as const, slicingRate: 0.5, layers: 2, hidden: 8, epochs: 2, patience: 5, seed: 4 };
  const info = { name: 'mtl-ckpt', trainedOn: ['NCBI-disease', 'S800'] };
  const straight = await trainMultiTask(corpora, new HashedVectors(16), info, options);

  const resumed = await stopInEpoch2AndResume(path.join(tmp, 'multitask'), (hooks) => trainMultiTask(corpora, new HashedVectors(16), info, options, hooks));
  assert.ok(Object.keys(resumed.model.params).some((n) => n.startsWith('enc.@S800.lstm1.')), 'the upper layer is private');
  assert.deepEqual(weights(resumed.model), weights(straight.model));
  resumed.model.dispose();
  straight.model.dispose();
});
