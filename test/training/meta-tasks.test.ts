import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixturesRoot, listCorpora, loadSplit } from '../../training/data/corpora';
import { hardnessWeights, taskHardness, uniformWeights } from '../../training/meta/hardness';
import { sampleSupport, supportSets, testSubset } from '../../training/meta/fewshot-eval';
import { DOMAINS, domainOf, hasEntity, metaTrainingCorpora, sampleTask } from '../../training/meta/tasks';
import { Rng } from '../../training/util/random';

test('task hardness: shares of the batch loss per parameter group, zero loss → zero weight', () => {
  const h = taskHardness([2, 0, 6], [1, 1, 2], 1);
  for (const group of [h.theta, h.phi, h.omega]) assert.ok(Math.abs(group.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.deepEqual(h.phi, [0.25, 0, 0.75]);
  assert.deepEqual(h.omega, [0.25, 0.25, 0.5]);
  assert.deepEqual(h.theta, [3 / 12, 1 / 12, 8 / 12]);
  assert.deepEqual(hardnessWeights([0, 0]), [0, 0]);
  assert.throws(() => hardnessWeights([1, Number.NaN]), /finite and non-negative/);
  assert.deepEqual(uniformWeights(4), [0.25, 0.25, 0.25, 0.25]);
});

test('the target domain never enters meta-training; every fixture corpus belongs to a domain', () => {
  const available = listCorpora(fixturesRoot());
  for (const target of Object.keys(DOMAINS)) {
    const used = metaTrainingCorpora(target, available);
    for (const c of DOMAINS[target]) assert.ok(!used.includes(c), `${c} leaked into meta-training for target ${target}`);
    assert.ok(used.length >= 4);
  }
  for (const c of available) assert.ok(domainOf(c), `${c} has no domain`);
  assert.throws(() => metaTrainingCorpora('Virus', available), /unknown target domain "Virus"/);
});

test('support and query sets are disjoint, of size K, and the -NEs filter holds', () => {
  const sentences = loadSplit(fixturesRoot(), 'LINNAEUS', 'train');
  const rng = new Rng(4);
  for (let i = 0; i < 50; i++) {
    const task = sampleTask('LINNAEUS', sentences, 10, rng, { supportWithEntities: i % 2 === 0 });
    assert.equal(task.support.length, 10);
    assert.equal(task.query.length, 10);
    const support = new Set(task.support);
    assert.ok(task.query.every((s) => !support.has(s)), 'a query sentence is also in the support set');
    if (i % 2 === 0) assert.ok(task.support.every(hasEntity));
  }
  assert.throws(() => sampleTask('X', sentences.slice(0, 15), 10, rng), /only 5 sentences left for a query set of 10/);
});

test('meta-testing support sets: K distinct sentences with entities, the same sets for every model of a run', () => {
  const train = loadSplit(fixturesRoot(), 'NCBI-disease', 'train');
  const target = { corpus: 'NCBI-disease', train, test: [], types: ['Disease'] };
  const a = supportSets(target, 5, 3, 7);
  const b = supportSets(target, 5, 3, 7);
  assert.deepEqual(a, b);
  assert.equal(a.length, 3);
  for (const set of a) {
    assert.equal(new Set(set).size, 5);
    assert.ok(set.every(hasEntity));
  }
  assert.notDeepEqual(a[0], a[1]);
  assert.notDeepEqual(supportSets(target, 5, 1, 8)[0], a[0]);
  assert.throws(() => sampleSupport(train.slice(0, 3), 5, new Rng(1)), /only \d sentences with entities for K = 5/);
  const subset = testSubset(train, 50, 1);
  assert.equal(subset.length, 50);
  assert.deepEqual(subset, testSubset(train, 50, 1));
  assert.equal(testSubset(train, 0, 1).length, train.length);
});
