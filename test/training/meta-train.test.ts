import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fixturesRoot, listCorpora, loadSplit } from '../../training/data/corpora';
import { initBackend } from '../../training/engine/backend';
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
