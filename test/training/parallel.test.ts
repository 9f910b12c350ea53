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
import { Featurizer } from '../../training/model/features';
import { DEFAULT_SHAPE, initParams, TaggerShape } from '../../training/model/tagger';
import { CharVocab, TagSet } from '../../training/model/vocab';
import { trainMultiTask } from '../../training/multitask/mtl-train';
import { ComputePool } from '../../training/parallel/compute-pool';
import { loadModel } from '../../training/model/model-io';
import { evaluateOnPool } from '../../training/parallel/pool-eval';
import { evaluateModel } from '../../training/eval/evaluate-model';
import { identityView, ShardJob, splitShards } from '../../training/parallel/shard-step';
import { hasCheckpoint } from '../../training/train/checkpoint';
import { allowedMask } from '../../training/train/labels';
import { trainSupervised } from '../../training/train/supervised';
import { loadCorpora, trainingDataOf } from '../../training/train/training-data';
import { HashedVectors } from '../helpers/hashed-vectors';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metabioner-parallel-'));
before(async () => {
  await initBackend('wasm');
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Weights = Record<string, Float32Array>;
const weightsOf = (params: Record<string, tf.Tensor>): Weights => Object.fromEntries(Object.entries(params).map(([n, v]) => [n, v.dataSync() as Float32Array]));

function assertClose(a: Weights, b: Weights, tolerance: number, what: string): void {
  assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
  let worst = 0;
  for (const n of Object.keys(a)) for (let i = 0; i < a[n].length; i++) worst = Math.max(worst, Math.abs(a[n][i] - b[n][i]));
  assert.ok(worst <= tolerance, `${what}: largest difference ${worst} > ${tolerance}`);
}

function smallSupervised() {
  const data = trainingDataOf(loadCorpora(fixturesRoot(), ['NCBI-disease']));
  data.train = data.train.slice(0, 40);
  data.devel[0].sentences = data.devel[0].sentences.slice(0, 15);
  return data;
}

test('the gradients of a batch split over 2 threads equal those of 1 thread up to float rounding; nothing leaks', async () => {
  const data = smallSupervised();
  const items = data.train.slice(0, 10);
  const words = new HashedVectors(16);
  const chars = CharVocab.build(items.flatMap((it) => it.sentence.tokens), 1);
  const tagSet = new TagSet(['Disease']);
  const shape: TaggerShape = { ...DEFAULT_SHAPE, hidden: 8, wordDim: 16, charVocabSize: chars.size, numTags: tagSet.size, numDomains: 0 };
  const params = initParams(shape, 7);
  const featurizer = new Featurizer(words, chars, shape.maxWordChars);
  const jobsFor = (n: number): ShardJob[] =>
    splitShards(items, n).map((shard) => {
      const batch = featurizer.batch(shard.map((it) => it.sentence.tokens));
      return { batch, allowed: allowedMask(shard, tagSet, batch), dropout: 0, seed: 1, view: identityView(params) };
    });
  const one = await ComputePool.start({ workers: 1, shape, vars: params });
  const two = await ComputePool.start({ workers: 2, shape, vars: params });
  try {
    const tensorsBefore = tf.memory().numTensors;
    const a = await one.gradients(jobsFor(1));
    const b = await two.gradients(jobsFor(2));
    assert.equal(tf.memory().numTensors - tensorsBefore, 2 * Object.keys(b.grads).length, 'only the gradients stay allocated');
    assert.ok(Math.abs(a.loss - b.loss) < 1e-4 * Math.abs(a.loss), `loss ${a.loss} vs ${b.loss}`);
    assertClose(weightsOf(a.grads), weightsOf(b.grads), 1e-5, 'gradients');
    for (const g of [...Object.values(a.grads), ...Object.values(b.grads)]) g.dispose();

    const memory1 = await two.workerMemory();
    for (let i = 0; i < 3; i++) {
      const r = await two.gradients(jobsFor(2));
      two.publish(Object.keys(r.grads));
      for (const g of Object.values(r.grads)) g.dispose();
    }
    const memory2 = await two.workerMemory();
    assert.deepEqual(memory2.map((m) => m.numTensors), memory1.map((m) => m.numTensors), 'tensors leaked in a worker');
    assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors leaked in the calling thread');
  } finally {
    one.close();
    two.close();
    for (const v of Object.values(params)) v.dispose();
  }
});

test('a devel evaluation decoded on the pool’s threads scores what the model scores on one thread', async () => {
  const model = loadModel(path.join(__dirname, '..', '..', 'models', 'default'));
  const sentences = [...loadSplit(fixturesRoot(), 'NCBI-disease', 'devel'), { tokens: [], tags: [] }];
  const pool = await ComputePool.start({ workers: 2, shape: model.shape, vars: model.params });
  try {
    const onPool = await evaluateOnPool(pool, model, identityView(model.params), sentences, ['Disease']);
    assert.deepEqual(onPool, evaluateModel(model, sentences, ['Disease']));
    assert.ok(onPool.foundGuessed > 0, 'the model finds entities');
  } finally {
    pool.close();
    model.dispose();
  }
});

test('supervised training: 2 workers give the weights of 1 worker up to float rounding, and repeat bit for bit', async () => {
  const data = smallSupervised();
  const info = { name: 'par', trainedOn: ['NCBI-disease/train'] };
  const noDropout = { epochs: 1, batchSize: 10, hidden: 8, dropout: 0, seed: 2 };
  const one = await trainSupervised(data, new HashedVectors(16), info, noDropout, { workers: 1 });
  const two = await trainSupervised(data, new HashedVectors(16), info, noDropout, { workers: 2 });
  assertClose(weightsOf(one.model.params), weightsOf(two.model.params), 1e-4, '1 vs 2 workers');
  for (const r of [one, two]) r.model.dispose();

  const withDropout = { ...noDropout, dropout: 0.5 };
  const first = await trainSupervised(data, new HashedVectors(16), info, withDropout, { workers: 2 });
  const again = await trainSupervised(data, new HashedVectors(16), info, withDropout, { workers: 2 });
  assert.deepEqual(weightsOf(again.model.params), weightsOf(first.model.params));
  for (const r of [first, again]) r.model.dispose();
});

test('multi-task training (per-corpus heads): 2 workers give the weights of 1 worker up to float rounding', async () => {
  const corpora = loadCorpora(fixturesRoot(), ['NCBI-disease', 'S800']).map((c) => ({ ...c, train: c.train.slice(0, 20), devel: c.devel.slice(0, 10) }));
  const options = { sharing: 'heads' as const, hidden: 8, epochs: 1, dropout: 0, seed: 4 };
  const info = { name: 'mtl-par', trainedOn: ['NCBI-disease', 'S800'] };
  const one = await trainMultiTask(corpora, new HashedVectors(16), info, options, { workers: 1 });
  const two = await trainMultiTask(corpora, new HashedVectors(16), info, options, { workers: 2 });
  assertClose(weightsOf(one.model.params), weightsOf(two.model.params), 1e-4, '1 vs 2 workers');
  for (const r of [one, two]) r.model.dispose();
});

test('a task-parallel meta-iteration equals the one-thread iteration (tasks keep their own dropout seeds)', async () => {
  const sources = metaTrainingCorpora('Species', listCorpora(fixturesRoot()));
  const corpora = Object.fromEntries(sources.map((c) => [c, loadSplit(fixturesRoot(), c, 'train')]));
  const options = { method: 'metabioner' as const, k: 3, iterations: 3, tasksPerIteration: 4, innerSteps: 2, hidden: 8, seed: 6 };
  const hardness: number[][] = [];
  const one = await metaTrain(corpora, new HashedVectors(16), options, { workers: 1, onIteration: (r) => hardness.push(r.weights.theta) });
  const two = await metaTrain(corpora, new HashedVectors(16), options, { workers: 2, onIteration: (r) => hardness.push(r.weights.theta) });
  assertClose(weightsOf(one.model.params), weightsOf(two.model.params), 1e-6, '1 vs 2 workers');
  for (let i = 0; i < 3; i++) for (let t = 0; t < 4; t++) assert.ok(Math.abs(hardness[i][t] - hardness[i + 3][t]) < 1e-6, `γ of task ${t} at iteration ${i + 1}`);
  for (const r of [one, two]) r.model.dispose();
});

test('a worker that dies mid-step fails the run with its cause; the last checkpoint stays intact and resumes', async () => {
  const data = smallSupervised();
  const info = { name: 'crash', trainedOn: ['NCBI-disease/train'] };
  const options = { epochs: 2, batchSize: 10, hidden: 8, patience: 5, seed: 8 };
  const dir = path.join(tmp, 'crash');
  // 4 steps per epoch: worker 1 dies at its 7th shard, in epoch 2, after the epoch-1 checkpoint.
  process.env.METABIONER_FAULT = 'crash-compute-worker-after:6';
  try {
    await assert.rejects(trainSupervised(data, new HashedVectors(16), info, options, { workers: 2, checkpointDir: dir }), /compute worker 1 crashed: injected compute-worker fault/);
  } finally {
    delete process.env.METABIONER_FAULT;
  }
  assert.ok(hasCheckpoint(dir));
  const epochs = new Set<number>();
  const resumed = await trainSupervised(data, new HashedVectors(16), info, options, { workers: 1, checkpointDir: dir, onProgress: (p) => p.phase === 'train' && epochs.add(p.epoch) });
  assert.deepEqual([...epochs], [2]);
  assert.equal(resumed.history.length, 2);
  resumed.model.dispose();
});
