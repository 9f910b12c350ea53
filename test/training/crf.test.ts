import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../training/engine/backend';
import { allowedFromTags, batchNegLogLikelihood, CrfWeights, forwardBackward, spanProbability, viterbi } from '../../training/model/crf-math';
import { crfNegLogLikelihood } from '../../training/model/crf';
import { Rng } from '../../training/util/random';

function randomCrf(rng: Rng, n: number): CrfWeights {
  const r = (k: number) => Array.from({ length: k }, () => rng.next() * 2 - 1);
  return { n, trans: r(n * n), start: r(n), end: r(n) };
}

function pathScore(w: CrfWeights, em: ArrayLike<number>, off: number, path: number[]): number {
  let s = w.start[path[0]] + w.end[path[path.length - 1]];
  path.forEach((j, t) => {
    s += em[off + t * w.n + j];
    if (t > 0) s += w.trans[path[t - 1] * w.n + j];
  });
  return s;
}

function allPaths(n: number, L: number): number[][] {
  if (L === 0) return [[]];
  return allPaths(n, L - 1).flatMap((p) => [...Array(n).keys()].map((j) => [...p, j]));
}

test('log Z, marginals and Viterbi equal brute-force enumeration', () => {
  const rng = new Rng(7);
  const n = 3;
  const L = 4;
  const w = randomCrf(rng, n);
  const em = Array.from({ length: L * n }, () => rng.next() * 4 - 2);
  const paths = allPaths(n, L);
  const scores = paths.map((p) => pathScore(w, em, 0, p));
  const logZ = Math.log(scores.reduce((a, s) => a + Math.exp(s), 0));
  const fb = forwardBackward(w, em, 0, L, null, true);
  assert.ok(Math.abs(fb.logZ - logZ) < 1e-9, `${fb.logZ} vs ${logZ}`);
  for (let t = 0; t < L; t++) {
    for (let j = 0; j < n; j++) {
      const p = paths.reduce((a, path, k) => a + (path[t] === j ? Math.exp(scores[k] - logZ) : 0), 0);
      assert.ok(Math.abs(fb.unary[t * n + j] - p) < 1e-9);
    }
  }
  const best = paths[scores.indexOf(Math.max(...scores))];
  assert.deepEqual(viterbi(w, em, 0, L).path, best);
});

test('one allowed tag per token scores exactly the gold path', () => {
  const rng = new Rng(3);
  const w = randomCrf(rng, 5);
  const L = 6;
  const em = Array.from({ length: L * 5 }, () => rng.next());
  const gold = [0, 1, 2, 2, 0, 3];
  const allowed = allowedFromTags(gold, 1, L, 5, [L]);
  assert.ok(Math.abs(forwardBackward(w, em, 0, L, allowed, false).logZ - pathScore(w, em, 0, gold)) < 1e-9);
});

test('batch NLL gradient matches central finite differences', () => {
  const rng = new Rng(11);
  const n = 4;
  const B = 3;
  const T = 5;
  const lengths = [5, 3, 1];
  const w = randomCrf(rng, n);
  const em = Array.from({ length: B * T * n }, () => rng.next() * 2 - 1);
  const tags = Array.from({ length: B * T }, () => rng.int(n));
  const allowed = allowedFromTags(tags, B, T, n, lengths);
  // A partial-label position: token 2 of sentence 0 may take tags 0 or 2.
  allowed.fill(0, (0 * T + 2) * n, (0 * T + 2) * n + n);
  allowed[(0 * T + 2) * n + 0] = 1;
  allowed[(0 * T + 2) * n + 2] = 1;
  const r = batchNegLogLikelihood(w, em, B, T, lengths, allowed);
  const h = 1e-5;
  const check = (arr: number[], grad: Float32Array, label: string) => {
    for (let k = 0; k < arr.length; k++) {
      const keep = arr[k];
      arr[k] = keep + h;
      const up = batchNegLogLikelihood(w, em, B, T, lengths, allowed).loss;
      arr[k] = keep - h;
      const down = batchNegLogLikelihood(w, em, B, T, lengths, allowed).loss;
      arr[k] = keep;
      const numeric = (up - down) / (2 * h);
      assert.ok(Math.abs(numeric - grad[k]) < 1e-5, `${label}[${k}]: analytic ${grad[k]} numeric ${numeric}`);
    }
  };
  check(em, r.gradEmissions, 'emissions');
  check(w.trans as number[], r.gradTrans, 'trans');
  check(w.start as number[], r.gradStart, 'start');
  check(w.end as number[], r.gradEnd, 'end');
});

test('span probability sums with the other analyses of the same tokens', () => {
  const rng = new Rng(5);
  const n = 3; // O, B-X, I-X
  const L = 4;
  const w = randomCrf(rng, n);
  const em = Array.from({ length: L * n }, () => rng.next() * 3);
  const fb = forwardBackward(w, em, 0, L, null, false);
  // P(entity exactly at tokens 1..2) by enumeration: path[1]=B, path[2]=I, path[3]≠I.
  const paths = allPaths(n, L);
  const expected = paths
    .filter((p) => p[1] === 1 && p[2] === 2 && p[3] !== 2)
    .reduce((a, p) => a + Math.exp(pathScore(w, em, 0, p) - fb.logZ), 0);
  const got = spanProbability(w, em, 0, L, 1, [1, 2], 2, fb.logZ);
  assert.ok(Math.abs(got - expected) < 1e-9, `${got} vs ${expected}`);
});

test('the TF.js CRF op returns the JS loss and its gradients', async () => {
  await initBackend('wasm');
  const rng = new Rng(2);
  const n = 3;
  const B = 2;
  const T = 4;
  const lengths = new Int32Array([4, 2]);
  const w = randomCrf(rng, n);
  const em = Float32Array.from({ length: B * T * n }, () => rng.next());
  const tags = [0, 1, 2, 0, 1, 0, 0, 0];
  const allowed = allowedFromTags(tags, B, T, n, lengths);
  const expected = batchNegLogLikelihood(w, em, B, T, lengths, allowed);
  const before = tf.memory().numTensors;
  const e = tf.tensor3d(em, [B, T, n]);
  const tr = tf.tensor2d(Float32Array.from(w.trans), [n, n]);
  const st = tf.tensor1d(Float32Array.from(w.start));
  const en = tf.tensor1d(Float32Array.from(w.end));
  const g = tf.grads((a, b, c, d) => crfNegLogLikelihood(a, b, c, d, lengths, allowed));
  const all = g([e, tr, st, en]);
  const [ge, gt] = all;
  const loss = crfNegLogLikelihood(e, tr, st, en, lengths, allowed);
  assert.ok(Math.abs(loss.dataSync()[0] - expected.loss) < 1e-4);
  const geData = ge.dataSync();
  for (let k = 0; k < geData.length; k++) assert.ok(Math.abs(geData[k] - expected.gradEmissions[k]) < 1e-6);
  const gtData = gt.dataSync();
  for (let k = 0; k < gtData.length; k++) assert.ok(Math.abs(gtData[k] - expected.gradTrans[k]) < 1e-6);
  tf.dispose([e, tr, st, en, loss, ...all]);
  assert.equal(tf.memory().numTensors, before, 'the CRF op leaks tensors');
});
