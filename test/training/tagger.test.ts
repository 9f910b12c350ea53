import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../training/engine/backend';
import { allowedFromTags } from '../../training/model/crf-math';
import { Featurizer } from '../../training/model/features';
import { criticLoss, encode, initParams, labelLoss, Params, TaggerShape } from '../../training/model/tagger';
import { CharVocab } from '../../training/model/vocab';
import { AdamW } from '../../training/train/optimizer';
import { fomamlIteration } from '../../training/meta/fomaml';
import { lossAndGrads, disposeGrads, pick, supervisedStep } from '../../training/train/step';
import { Rng } from '../../training/util/random';
import { HashedVectors } from '../helpers/hashed-vectors';

const sentences = [
  ['Mutations', 'in', 'BRCA1', 'cause', 'breast', 'cancer', '.'],
  ['Cisplatin', 'induced', 'nephrotoxicity'],
  ['X'],
];
const tags = [
  [0, 0, 0, 0, 1, 2, 0],
  [0, 0, 1],
  [0],
];

function tiny(hidden = 4, layers = 1) {
  const chars = CharVocab.build(sentences.flat());
  const shape: TaggerShape = { wordDim: 5, charVocabSize: chars.size, charDim: 3, charFilters: 4, charWindow: 3, maxWordChars: 8, hidden, layers, numTags: 3, numDomains: 0 };
  const feat = new Featurizer(new HashedVectors(5), chars, 8);
  const batch = feat.batch(sentences);
  const flat = new Int32Array(batch.B * batch.T);
  tags.forEach((row, b) => flat.set(row, b * batch.T));
  const allowed = allowedFromTags(flat, batch.B, batch.T, 3, batch.lengths);
  return { shape, batch, allowed };
}

before(async () => {
  await initBackend((process.env.METABIONER_BACKEND as 'wasm') ?? 'wasm');
});

test('whole-model gradients match finite differences (BiLSTM-CNN-CRF, two layers)', () => {
  const { shape, batch, allowed } = tiny(4, 2);
  const vars = initParams(shape, 42);
  const lossOf = () => tf.tidy(() => labelLoss(vars as Params, encode(vars as Params, shape, batch, { training: false, dropout: 0 }), batch, allowed).dataSync()[0]);
  const { grads } = lossAndGrads(() => labelLoss(vars as Params, encode(vars as Params, shape, batch, { training: false, dropout: 0 }), batch, allowed), vars);
  const rng = new Rng(9);
  const h = 1e-2;
  let checked = 0;
  for (const [name, v] of Object.entries(vars)) {
    const g = grads[name].dataSync();
    const values = v.dataSync().slice() as Float32Array;
    // Three entries per parameter, preferring ones with a visible gradient.
    const candidates = [...g.keys()].filter((k) => Math.abs(g[k]) > 1e-3);
    for (const k of rng.shuffle(candidates).slice(0, 3)) {
      const orig = values[k];
      values[k] = orig + h;
      v.assign(tf.tensor(values, v.shape));
      const up = lossOf();
      values[k] = orig - h;
      v.assign(tf.tensor(values, v.shape));
      const down = lossOf();
      values[k] = orig;
      v.assign(tf.tensor(values, v.shape));
      const numeric = (up - down) / (2 * h);
      assert.ok(Math.abs(numeric - g[k]) <= 2e-3 + 0.03 * Math.abs(g[k]), `${name}[${k}]: analytic ${g[k]} numeric ${numeric}`);
      checked++;
    }
  }
  disposeGrads(grads);
  assert.ok(checked > 30, `only ${checked} entries checked`);
  Object.values(vars).forEach((v) => v.dispose());
});

test('a training step leaves the number of tensors unchanged and lowers the loss', () => {
  const { shape, batch, allowed } = tiny(8, 1);
  const vars = initParams(shape, 1);
  const opt = new AdamW(vars);
  const rng = new Rng(3);
  supervisedStep(vars, shape, batch, allowed, opt, 1e-2, 0.5, rng);
  const count = tf.memory().numTensors;
  let first = 0;
  let last = 0;
  for (let i = 0; i < 30; i++) {
    const loss = supervisedStep(vars, shape, batch, allowed, opt, 1e-2, 0, rng);
    if (i === 0) first = loss;
    last = loss;
    assert.equal(tf.memory().numTensors, count, `step ${i} leaked tensors`);
  }
  assert.ok(last < first * 0.5, `loss ${first} -> ${last}`);
  opt.dispose();
  Object.values(vars).forEach((v) => v.dispose());
});

test('a first-order MAML iteration leaks nothing, and model + optimizer dispose to zero tensors', () => {
  const before = tf.memory().numTensors;
  const { shape, batch, allowed } = tiny(6, 1);
  const vars = initParams(shape, 2);
  const opt = new AdamW(vars);
  const task = { support: { batch, allowed }, query: { batch, allowed } };
  const wrt = pick(vars, ['enc.', 'dec.']);
  const rng = new Rng(1);
  fomamlIteration(vars, wrt, shape, [task, task], opt, { innerSteps: 2, innerLr: 0.01, outerLr: 1e-3, dropout: 0.5, weighting: 'hardness' }, rng);
  const count = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    fomamlIteration(vars, wrt, shape, [task, task], opt, { innerSteps: 2, innerLr: 0.01, outerLr: 1e-3, dropout: 0.5, weighting: 'hardness' }, rng);
    assert.equal(tf.memory().numTensors, count, `iteration ${i} leaked`);
  }
  opt.dispose();
  Object.values(vars).forEach((v) => v.dispose());
  assert.equal(tf.memory().numTensors, before);
});

test('a batch of one-character words trains (the char max-pool has a single position)', () => {
  const chars = CharVocab.build(['a', 'b', '.']);
  const shape: TaggerShape = { wordDim: 5, charVocabSize: chars.size, charDim: 3, charFilters: 4, charWindow: 3, maxWordChars: 8, hidden: 4, layers: 1, numTags: 3, numDomains: 0 };
  const batch = new Featurizer(new HashedVectors(5), chars, 8).batch([['a', 'b', '.']]);
  assert.equal(batch.Lc, 1);
  const vars = initParams(shape, 1);
  const opt = new AdamW(vars);
  const loss = supervisedStep(vars, shape, batch, allowedFromTags(new Int32Array([1, 2, 0]), 1, 3, 3, batch.lengths), opt, 1e-2, 0, new Rng(1));
  assert.ok(Number.isFinite(loss));
  opt.dispose();
  Object.values(vars).forEach((v) => v.dispose());
});

test('the domain critic ω: its loss gradient matches finite differences and reaches the encoder', () => {
  const { batch } = tiny(4, 1);
  const chars = CharVocab.build(sentences.flat());
  const shape: TaggerShape = { wordDim: 5, charVocabSize: chars.size, charDim: 3, charFilters: 4, charWindow: 3, maxWordChars: 8, hidden: 4, layers: 1, numTags: 3, numDomains: 3 };
  const vars = initParams(shape, 8);
  assert.ok(vars['critic.W'] && vars['critic.b']);
  const domains = new Int32Array([0, 2, 1]);
  const f = () => criticLoss(vars, encode(vars, shape, batch, { training: false, dropout: 0 }), batch, domains);
  const { grads } = lossAndGrads(f, pick(vars, ['critic.', 'enc.lstm0.fwd.Wh']));
  const h = 1e-2;
  for (const name of ['critic.W', 'critic.b', 'enc.lstm0.fwd.Wh']) {
    const g = grads[name].dataSync();
    const values = vars[name].dataSync().slice() as Float32Array;
    let k = 0;
    for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[k])) k = i;
    const at = (x: number) => {
      values[k] = x;
      vars[name].assign(tf.tensor(values, vars[name].shape));
      return tf.tidy(() => f().dataSync()[0]);
    };
    const orig = values[k];
    const numeric = (at(orig + h) - at(orig - h)) / (2 * h);
    at(orig);
    assert.ok(Math.abs(g[k]) > 1e-4, `${name} gets no gradient`);
    assert.ok(Math.abs(numeric - g[k]) <= 1e-3 + 0.03 * Math.abs(g[k]), `${name}[${k}]: ${g[k]} vs ${numeric}`);
  }
  disposeGrads(grads);
  Object.values(vars).forEach((v) => v.dispose());
});

test('a first-order meta-iteration equals the hand computation: adapt on support, query gradient, weighted sum, one AdamW step', () => {
  const { shape: s0, batch, allowed } = tiny(4, 1);
  const shape = { ...s0, numDomains: 2 };
  const vars = initParams(shape, 6);
  const wrt = pick(vars, ['enc.', 'dec.', 'critic.']);
  const beta = 0.05;
  const lambda = 1;
  const domains = new Int32Array([0, 1, 0]);
  const part = { batch, allowed, domains };
  // Hand computation of the meta-gradient of one task (dropout off, one inner step).
  const objective = () => {
    const e = encode(vars, shape, batch, { training: false, dropout: 0 });
    return tf.add(labelLoss(vars, e, batch, allowed), tf.mul(criticLoss(vars, e, batch, domains), lambda)) as tf.Scalar;
  };
  const before = Object.fromEntries(Object.entries(wrt).map(([n, v]) => [n, v.dataSync().slice()]));
  const inner = lossAndGrads(objective, wrt);
  for (const [n, g] of Object.entries(inner.grads)) wrt[n].assign(tf.sub(wrt[n], tf.mul(g, beta)));
  const query = lossAndGrads(objective, wrt);
  const expected = Object.fromEntries(Object.entries(query.grads).map(([n, g]) => [n, g.dataSync().slice()]));
  disposeGrads(inner.grads);
  disposeGrads(query.grads);
  for (const [n, v] of Object.entries(wrt)) v.assign(tf.tensor(before[n], v.shape));

  const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, clipNorm: 0 });
  const lr = 1e-3;
  const r = fomamlIteration(vars, wrt, shape, [{ support: part, query: part }], opt, { innerSteps: 1, innerLr: beta, outerLr: lr, dropout: 0, lambda, weighting: 'hardness' }, new Rng(1));
  assert.deepEqual(r.weights.theta, [1]);
  // AdamW's first step moves each weight by lr·g/(|g| + ε): −lr·sign(g) wherever the gradient is not tiny.
  let checked = 0;
  for (const [n, v] of Object.entries(wrt)) {
    const after = v.dataSync();
    const g = expected[n];
    for (let k = 0; k < g.length; k++) {
      if (Math.abs(g[k]) < 1e-4) continue;
      assert.ok(Math.abs(after[k] - (before[n][k] - lr * Math.sign(g[k]))) < 1e-6, `${n}[${k}] moved ${after[k] - before[n][k]}, gradient ${g[k]}`);
      checked++;
    }
  }
  assert.ok(checked > 100, `only ${checked} weights checked`);
  opt.dispose();
  Object.values(vars).forEach((v) => v.dispose());
});

test('tasks are weighted by their share of the query loss', () => {
  const { shape, batch, allowed } = tiny(4, 1);
  const vars = initParams(shape, 9);
  const wrt = pick(vars, ['enc.', 'dec.']);
  const opt = new AdamW(vars);
  const part = { batch, allowed };
  const r = fomamlIteration(vars, wrt, shape, [{ support: part, query: part }, { support: part, query: { batch: tiny(4, 1).batch, allowed } }], opt, { innerSteps: 1, innerLr: 0.01, outerLr: 1e-3, dropout: 0, weighting: 'hardness' }, new Rng(2));
  const total = r.queryLabelLosses[0] + r.queryLabelLosses[1];
  assert.ok(Math.abs(r.weights.phi[0] - r.queryLabelLosses[0] / total) < 1e-12);
  assert.ok(Math.abs(r.weights.theta[0] + r.weights.theta[1] - 1) < 1e-12);
  opt.dispose();
  Object.values(vars).forEach((v) => v.dispose());
});

test('a task with zero query loss gets weight 0 and moves nothing; a batch of such tasks leaves the parameters unchanged', () => {
  const { shape, batch, allowed } = tiny(4, 1);
  // Every tag allowed everywhere: the partial-label loss is log Z − log Z = 0.
  const free = { batch, allowed: new Uint8Array(allowed.length).fill(1) };
  const real = { batch, allowed };
  const run = (tasks: { support: typeof real; query: typeof real }[]) => {
    const vars = initParams(shape, 12);
    const wrt = pick(vars, ['enc.', 'dec.']);
    const opt = new AdamW(vars);
    const r = fomamlIteration(vars, wrt, shape, tasks, opt, { innerSteps: 1, innerLr: 0.05, outerLr: 1e-2, dropout: 0, weighting: 'hardness' }, new Rng(3));
    const values = Object.fromEntries(Object.entries(vars).map(([n, v]) => [n, Array.from(v.dataSync())]));
    opt.dispose();
    Object.values(vars).forEach((v) => v.dispose());
    return { r, values };
  };
  const initial = (() => {
    const vars = initParams(shape, 12);
    const values = Object.fromEntries(Object.entries(vars).map(([n, v]) => [n, Array.from(v.dataSync())]));
    Object.values(vars).forEach((v) => v.dispose());
    return values;
  })();
  const tensorsBefore = tf.memory().numTensors;
  const alone = run([{ support: real, query: real }]);
  const mixed = run([{ support: real, query: real }, { support: real, query: free }]);
  assert.equal(mixed.r.queryLabelLosses[1], 0);
  assert.deepEqual(mixed.r.weights.theta, [1, 0]);
  assert.deepEqual(mixed.r.weights.phi, [1, 0]);
  assert.deepEqual(mixed.values, alone.values, 'the zero-loss task changed the update');
  const none = run([{ support: free, query: free }, { support: free, query: free }]);
  assert.deepEqual(none.r.weights.theta, [0, 0]);
  assert.deepEqual(none.values, initial, 'a batch of zero-loss tasks moved the parameters');
  assert.notDeepEqual(alone.values, initial);
  assert.equal(tf.memory().numTensors, tensorsBefore);
});

test('a residual stack adds each upper layer\'s input to its output; manifests without the flag keep the plain stack', () => {
  const { shape: s0, batch } = tiny(3, 2);
  const plainShape: TaggerShape = { ...s0, residual: false };
  const vars = initParams(plainShape, 4);
  const run = (shape: TaggerShape) => tf.tidy(() => encode(vars, shape, batch, { training: false, dropout: 0 }).arraySync());
  const plain = run(plainShape);
  const residual = run({ ...s0, residual: true });
  assert.deepEqual(run(s0), plain, 'a shape without the field is the plain stack');
  // The first layer's output is what the second adds: one layer of the same weights.
  const first = run({ ...plainShape, layers: 1 });
  let largest = 0;
  for (let b = 0; b < plain.length; b++)
    for (let t = 0; t < plain[b].length; t++)
      for (let k = 0; k < plain[b][t].length; k++) {
        assert.ok(Math.abs(residual[b][t][k] - (plain[b][t][k] + first[b][t][k])) < 1e-5);
        largest = Math.max(largest, Math.abs(first[b][t][k]));
      }
  assert.ok(largest > 1e-3, 'the first layer has a non-trivial output');
});
