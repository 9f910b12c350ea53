import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixturesRoot, loadSplit } from '../../training/data/corpora';
import { evaluateModel } from '../../training/eval/evaluate-model';
import { adaptFewShot, DEFAULT_EXTEND } from '../../training/meta/adapt';
import { extendDecoder } from '../../training/meta/extend-decoder';
import { TagSet } from '../../training/model/vocab';
import { Rng } from '../../training/util/random';
import { asNewType, useShippedModel } from '../helpers/shipped-model';

const shippedModel = useShippedModel();


test('a grown decoder keeps every known weight; a new type’s transitions follow the known ones of the same role', () => {
  const from = shippedModel().tagSet;
  const to = new TagSet([...from.types, 'Organism']);
  const grown = extendDecoder(shippedModel().params, from, to, new Rng(1));
  const m = to.size;
  const W = shippedModel().params['dec.out.W'].arraySync() as number[][];
  const W2 = grown['dec.out.W'].arraySync() as number[][];
  const T = shippedModel().params['dec.crf.trans'].arraySync() as number[][];
  const T2 = grown['dec.crf.trans'].arraySync() as number[][];
  for (const tag of from.tags) {
    const [i, j] = [from.id(tag), to.id(tag)];
    for (let d = 0; d < W.length; d++) assert.equal(W2[d][j], W[d][i]);
    for (const other of from.tags) assert.equal(T2[j][to.id(other)], T[i][from.id(other)]);
  }
  // O → I-Organism is an invalid IOB2 move: it gets the mean of the known O → I-X scores, as low as they are.
  const oToI = from.types.map((t) => T[0][from.id(`I-${t}`)]);
  assert.ok(Math.abs(T2[0][to.id('I-Organism')] - oToI.reduce((a, b) => a + b, 0) / oToI.length) < 1e-5);
  const bToI = from.types.map((t) => T[from.id(`B-${t}`)][from.id(`I-${t}`)]);
  assert.ok(Math.abs(T2[to.id('B-Organism')][to.id('I-Organism')] - bToI.reduce((a, b) => a + b, 0) / bToI.length) < 1e-5);
  assert.equal(T2.length, m);
  for (const t of Object.values(grown)) t.dispose();
});

test('extend mode: the model keeps its types and weights, learns the new one, and scores the old ones as before', () => {
  const support = loadSplit(fixturesRoot(), 'S800', 'train').filter((s) => s.tags.some((t) => t !== 'O')).slice(0, 5).map(asNewType);
  const ncbi = loadSplit(fixturesRoot(), 'NCBI-disease', 'test');
  const before = evaluateModel(shippedModel(), ncbi, ['Disease']).f1;
  const adapted = adaptFewShot(shippedModel(), support, DEFAULT_EXTEND);
  try {
    assert.deepEqual(adapted.types, [...shippedModel().types, 'Organism']);
    // The encoder and the known types' emission columns did not move.
    for (const [name, v] of Object.entries(shippedModel().params)) if (name.startsWith('enc.')) assert.deepEqual(adapted.params[name].dataSync(), v.dataSync(), name);
    const W = shippedModel().params['dec.out.W'].arraySync() as number[][];
    const W2 = adapted.params['dec.out.W'].arraySync() as number[][];
    for (const tag of shippedModel().tagSet.tags) for (let d = 0; d < W.length; d++) assert.equal(W2[d][adapted.tagSet.id(tag)], W[d][shippedModel().tagSet.id(tag)]);
    const after = evaluateModel(adapted, ncbi, ['Disease']).f1;
    assert.ok(after >= before - 0.02, `Disease F1 ${before.toFixed(3)} → ${after.toFixed(3)}`);
    const organism = evaluateModel(adapted, loadSplit(fixturesRoot(), 'S800', 'test').map(asNewType), ['Organism']);
    assert.ok(organism.f1 > 0.2, `the new type is found: F1 ${organism.f1.toFixed(3)}`);
  } finally {
    adapted.dispose();
  }
  // Replace mode: the paper's setting, the new type only.
  const replaced = adaptFewShot(shippedModel(), support, { epochs: 2 });
  assert.deepEqual(replaced.types, ['Organism']);
  replaced.dispose();
});
