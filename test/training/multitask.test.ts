import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fixturesRoot, loadSplit } from '../../training/data/corpora';
import type { Sentence } from '../../training/data/types';
import { initBackend } from '../../training/engine/backend';
import { batchNegLogLikelihood, CrfWeights } from '../../training/model/crf-math';
import type { Batch } from '../../training/model/features';
import { TagSet } from '../../training/model/vocab';
import { cloneParams } from '../../training/multitask/mtl-model';
import { MultiTaskCorpus, planEpoch, trainMultiTask, unifiedCorpora } from '../../training/multitask/mtl-train';
import { globalName, Layout, sharedLayersFor } from '../../training/multitask/sharing';
import { mapSentenceTypes, UNIFIED_TYPE_MAPS } from '../../training/multitask/type-map';
import { allowedMask, LabelledSentence } from '../../training/train/labels';
import { loadCorpora } from '../../training/train/training-data';
import { Rng } from '../../training/util/random';
import { HashedVectors } from '../helpers/hashed-vectors';

before(async () => {
  await initBackend('wasm');
});

// Tags of a two-type tagger; the sentence comes from a corpus that annotates Disease only.
const tagSet = new TagSet(['Disease', 'Chemical']);
const sentence: Sentence = { tokens: ['aspirin', 'caused', 'renal', 'failure'], tags: ['O', 'O', 'B-Disease', 'I-Disease'] };
const L = sentence.tokens.length;
const n = tagSet.size;

function crf(rng: Rng): CrfWeights {
  const r = (k: number) => Array.from({ length: k }, () => rng.next() * 2 - 1);
  return { n, trans: r(n * n), start: r(n), end: r(n) };
}

function loss(w: CrfWeights, em: number[], annotated: string[]) {
  const allowed = allowedMask([{ sentence, annotatedTypes: annotated, corpus: 'x' }], tagSet, { T: L } as Batch);
  return batchNegLogLikelihood(w, em, 1, L, [L], allowed);
}

test('partial-label CRF: equal to the ordinary CRF when every type is annotated, never larger otherwise', () => {
  const rng = new Rng(4);
  for (let trial = 0; trial < 20; trial++) {
    const w = crf(rng);
    const em = Array.from({ length: L * n }, () => rng.next() * 4 - 2);
    const full = loss(w, em, ['Disease', 'Chemical']);
    // The ordinary CRF: −score(gold) + log Z, with the gold path as the only allowed one.
    const gold = sentence.tags.map((t) => tagSet.id(t));
    const ordinary = batchNegLogLikelihood(w, em, 1, L, [L], Uint8Array.from({ length: L * n }, (_, k) => (gold[Math.floor(k / n)] === k % n ? 1 : 0)));
    assert.ok(Math.abs(full.loss - ordinary.loss) < 1e-9);
    const partial = loss(w, em, ['Disease']);
    assert.ok(partial.loss <= full.loss + 1e-12, `${partial.loss} > ${full.loss}`);
  }
});

test('partial-label CRF: at an O token of a corpus that does not annotate Chemical, the gradient does not push toward O', () => {
  const rng = new Rng(9);
  const w = crf(rng);
  const em = Array.from({ length: L * n }, () => rng.next() - 0.5);
  // The model is sure "aspirin" is a Chemical.
  em[0 * n + tagSet.begin('Chemical')] = 8;
  const O = tagSet.id('O');
  const B = tagSet.begin('Chemical');
  const ordinary = loss(w, em, ['Disease', 'Chemical']);
  const partial = loss(w, em, ['Disease']);
  // Gradient descent moves emissions by −gradient: the ordinary loss raises O and lowers B-Chemical there...
  assert.ok(ordinary.gradEmissions[O] < -0.5 && ordinary.gradEmissions[B] > 0.5);
  // ...the partial-label loss leaves the Chemical reading alone and does not raise O.
  assert.ok(partial.gradEmissions[O] >= -1e-6, `O gradient ${partial.gradEmissions[O]}`);
  assert.ok(partial.gradEmissions[B] <= 1e-9 && partial.gradEmissions[B] > -0.01, `B-Chemical gradient ${partial.gradEmissions[B]}`);
});

function items(corpus: string, count: number): LabelledSentence[] {
  return Array.from({ length: count }, (_, i) => ({ sentence: { tokens: Array(1 + (i % 7)).fill('w'), tags: Array(1 + (i % 7)).fill('O') }, annotatedTypes: [], corpus }));
}

test('every mini-batch comes from one corpus; proportional sampling visits each batch once, uniform draws corpora evenly', () => {
  const data = [items('A', 95), items('B', 20), items('C', 5)];
  const rng = new Rng(1);
  const proportional = planEpoch(data, { batchSize: 10, sampling: 'proportional', temperature: 2 }, rng);
  assert.equal(proportional.length, 10 + 2 + 1);
  for (const b of proportional) assert.ok(b.items.every((it) => it.corpus === 'ABC'[b.corpus]), 'a batch mixes corpora');
  assert.deepEqual([0, 1, 2].map((c) => proportional.filter((b) => b.corpus === c).reduce((k, b) => k + b.items.length, 0)), [95, 20, 5]);
  let counts = [0, 0, 0];
  for (let e = 0; e < 30; e++) for (const b of planEpoch(data, { batchSize: 10, sampling: 'uniform', temperature: 2 }, rng)) {
    assert.ok(b.items.every((it) => it.corpus === 'ABC'[b.corpus]));
    counts[b.corpus]++;
  }
  const total = counts.reduce((a, b) => a + b, 0);
  for (const c of counts) assert.ok(Math.abs(c / total - 1 / 3) < 0.06, `uniform shares ${counts}`);
  counts = [0, 0, 0];
  for (let e = 0; e < 30; e++) for (const b of planEpoch(data, { batchSize: 10, sampling: 'temperature', temperature: 1e9 }, rng)) counts[b.corpus]++;
  assert.ok(counts.every((c) => c > 0));
});

test('slicing rate: 0 shares only the embeddings, 1 shares every layer, k/n the lower k; heads stay per corpus', () => {
  const view = ['enc.charEmb', 'enc.charConv.W', 'enc.lstm0.fwd.Wx', 'enc.lstm1.bwd.Wh', 'enc.lstm2.fwd.b', 'enc.lstm3.fwd.Wx', 'dec.crf.trans'];
  const shared = (rate: number) => {
    const layout: Layout = { sharing: 'hierarchical', corpora: ['A', 'B'], layers: 4, sharedLayers: sharedLayersFor(rate, 4) };
    return view.filter((v) => globalName(layout, 'A', v) === globalName(layout, 'B', v));
  };
  assert.deepEqual(shared(0), ['enc.charEmb', 'enc.charConv.W']);
  assert.deepEqual(shared(0.5), ['enc.charEmb', 'enc.charConv.W', 'enc.lstm0.fwd.Wx', 'enc.lstm1.bwd.Wh']);
  assert.deepEqual(shared(1), view.filter((v) => v.startsWith('enc.')));
  const unified: Layout = { sharing: 'unified', corpora: ['A', 'B'], layers: 1, sharedLayers: 1 };
  assert.equal(globalName(unified, 'A', 'dec.crf.trans'), globalName(unified, 'B', 'dec.crf.trans'));
  assert.throws(() => sharedLayersFor(1.5, 4), /slicing rate/);
});

function fixture(name: string, train: number, devel = 20): MultiTaskCorpus {
  const [c] = loadCorpora(fixturesRoot(), [name]);
  return { ...c, train: c.train.slice(0, train), devel: c.devel.slice(0, devel) };
}

test('a head is never updated by another corpus\' batches; hierarchical upper layers start from the shared model', async () => {
  const corpora = [fixture('NCBI-disease', 30), { ...fixture('S800', 0), devel: fixture('S800', 0).devel }];
  const tensorsBefore = tf.memory().numTensors;
  const base = await trainMultiTask(corpora, new HashedVectors(16), { name: 'x', trainedOn: [] }, { sharing: 'heads', layers: 2, hidden: 8, epochs: 1, seed: 2 });
  const start = { params: cloneParams(base.model.params), chars: base.model.chars };
  const s800Head = Object.keys(start.params).filter((k) => k.startsWith('dec.@S800.'));
  assert.equal(s800Head.length, 5);

  // Hierarchical at 0.5 from the heads model: lower layer shared, upper layer private and copied.
  const hier = await trainMultiTask(corpora, new HashedVectors(16), { name: 'y', trainedOn: [] }, { sharing: 'hierarchical', slicingRate: 0.5, layers: 2, hidden: 8, epochs: 0 }, {}, start);
  assert.deepEqual(hier.model.params['enc.@S800.lstm1.fwd.Wx'].dataSync(), start.params['enc.lstm1.fwd.Wx'].dataSync());
  assert.deepEqual(hier.model.params['enc.@NCBI-disease.lstm1.fwd.Wx'].dataSync(), start.params['enc.lstm1.fwd.Wx'].dataSync());
  assert.ok(!hier.model.params['enc.lstm1.fwd.Wx'] && hier.model.params['enc.lstm0.fwd.Wx']);
  hier.model.dispose();

  // More training with NCBI batches only: S800's head and private layer do not move, NCBI's do.
  const cont = await trainMultiTask(corpora, new HashedVectors(16), { name: 'z', trainedOn: [] }, { sharing: 'hierarchical', slicingRate: 0.5, layers: 2, hidden: 8, epochs: 1, patience: 5 }, {}, start);
  for (const name of [...s800Head, 'enc.@S800.lstm1.fwd.Wh']) {
    const before = name.startsWith('enc.@') ? start.params['enc.lstm1.fwd.Wh'] : start.params[name];
    assert.deepEqual(cont.model.params[name].dataSync(), before.dataSync(), `${name} changed by NCBI batches`);
  }
  assert.notDeepEqual(cont.model.params['dec.@NCBI-disease.crf.trans'].dataSync(), start.params['dec.@NCBI-disease.crf.trans'].dataSync());
  assert.notDeepEqual(cont.model.params['enc.lstm0.fwd.Wx'].dataSync(), start.params['enc.lstm0.fwd.Wx'].dataSync());
  // Each corpus' tagger is an ordinary model over its own types.
  assert.deepEqual(cont.model.modelFor('S800').types, ['Species']);
  assert.equal(cont.model.modelFor('NCBI-disease').predict([['renal', 'failure']]).length, 1);
  cont.model.dispose();
  base.model.dispose();
  for (const t of Object.values(start.params)) t.dispose();
  assert.equal(tf.memory().numTensors, tensorsBefore, 'multi-task training leaked tensors');
});

test('unified tagger: one CRF over every corpus\' renamed types, trained with the partial-label loss', async () => {
  const jnlpba = loadSplit(fixturesRoot(), 'JNLPBA', 'train').slice(0, 5);
  const mapped = jnlpba.map((s) => mapSentenceTypes(s, UNIFIED_TYPE_MAPS.JNLPBA));
  assert.ok(mapped.every((s) => s.tags.every((t) => t === 'O' || /-(Gene|Cell)$/.test(t))));
  const corpora = unifiedCorpora([fixture('NCBI-disease', 60), fixture('BC5CDR-chem', 60), fixture('JNLPBA', 30)], UNIFIED_TYPE_MAPS);
  assert.deepEqual(corpora[2].types.sort(), ['Cell', 'Gene']);
  const r = await trainMultiTask(corpora, new HashedVectors(16), { name: 'unified', trainedOn: [] }, { sharing: 'unified', hidden: 16, epochs: 2, lr: 1e-2, seed: 3 });
  assert.deepEqual(r.model.modelFor('JNLPBA').types.sort(), ['Cell', 'Chemical', 'Disease', 'Gene']);
  assert.equal(r.model.modelFor('NCBI-disease').params['dec.crf.trans'], r.model.modelFor('JNLPBA').params['dec.crf.trans']);
  assert.ok(r.history.length === 2 && r.history[1].loss < r.history[0].loss, `losses ${r.history.map((h) => h.loss)}`);
  r.model.dispose();
});
