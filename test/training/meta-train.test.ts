import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fixturesRoot, listCorpora, loadSplit } from '../../training/data/corpora';
import { initBackend } from '../../training/engine/backend';
import { evaluateModel } from '../../training/eval/evaluate-model';
import { adaptFewShot } from '../../training/meta/adapt';
import { HardnessRecord, metaTrain, untyped } from '../../training/meta/meta-train';
import { DOMAINS, metaTrainingCorpora } from '../../training/meta/tasks';
import { HashedVectors } from '../helpers/hashed-vectors';

before(async () => {
  await initBackend('wasm');
});

test('meta-training with task hardness: only source corpora, weights per group sum to 1, cancellable, no leaks', async () => {
  const sources = metaTrainingCorpora('Disease', listCorpora(fixturesRoot()));
  const corpora = Object.fromEntries(sources.map((c) => [c, loadSplit(fixturesRoot(), c, 'train')]));
  const records: HardnessRecord[] = [];
  const controller = new AbortController();
  const tensorsBefore = tf.memory().numTensors;
  const { model, iterations, cancelled } = await metaTrain(corpora, new HashedVectors(16), { method: 'metabioner', k: 3, iterations: 10, tasksPerIteration: 2, innerSteps: 1, hidden: 8, seed: 2 }, {
    signal: controller.signal,
    onIteration: (r) => {
      records.push(r);
      if (r.iteration === 3) controller.abort();
    },
  });
  assert.equal(iterations, 3);
  assert.ok(cancelled);
  for (const r of records) {
    for (const t of r.tasks) assert.ok(!DOMAINS.Disease.includes(t.corpus), `${t.corpus} is a target-domain corpus`);
    for (const group of [r.weights.theta, r.weights.phi, r.weights.omega]) assert.ok(Math.abs(group.reduce((a, b) => a + b, 0) - 1) < 1e-9);
    assert.equal(r.tasks[0].support.length, 3);
  }
  assert.deepEqual(model.types, ['Entity']);
  assert.equal(model.domains.length, 3);
  model.dispose();
  assert.equal(tf.memory().numTensors, tensorsBefore);
});

test('untyped tags keep entity boundaries and drop the type', () => {
  assert.deepEqual(untyped({ tokens: ['a', 'b', 'c', 'd'], tags: ['B-protein', 'I-protein', 'O', 'B-DNA'] }).tags, ['B-Entity', 'I-Entity', 'O', 'B-Entity']);
});

test('heterogeneous adaptation: a new decoder for the target types, the encoder copied, the source untouched', async () => {
  const sources = metaTrainingCorpora('Disease', listCorpora(fixturesRoot()));
  const corpora = Object.fromEntries(sources.map((c) => [c, loadSplit(fixturesRoot(), c, 'train')]));
  const { model: meta } = await metaTrain(corpora, new HashedVectors(16), { k: 3, iterations: 2, tasksPerIteration: 2, innerSteps: 1, hidden: 8 });
  const encBefore = meta.params['enc.lstm0.fwd.Wh'].dataSync().slice();
  const ncbi = loadSplit(fixturesRoot(), 'NCBI-disease', 'train').filter((s) => s.tags.some((t) => t !== 'O')).slice(0, 5);
  const adapted = adaptFewShot(meta, ncbi, { epochs: 40, lr: 1e-2, dropout: 0 });
  assert.deepEqual(adapted.types, ['Disease']);
  assert.deepEqual(meta.params['enc.lstm0.fwd.Wh'].dataSync(), encBefore, 'adaptation changed the meta-trained model');
  assert.notDeepEqual(adapted.params['enc.lstm0.fwd.Wh'].dataSync(), encBefore, 'the encoder was not adapted');
  // After 40 steps on five sentences the tagger reproduces most of their entities.
  const f1 = evaluateModel(adapted, ncbi, ['Disease']).f1;
  assert.ok(f1 > 0.5, `support F1 ${f1}`);
  assert.throws(() => adaptFewShot(meta, [{ tokens: ['a'], tags: ['O'] }]), /hold no entity/);
  assert.throws(() => adaptFewShot(meta, []), /at least one annotated sentence/);
  adapted.dispose();
  meta.dispose();
});
