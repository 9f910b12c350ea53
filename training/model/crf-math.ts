/**
 * Linear-chain CRF arithmetic on plain arrays, in double precision.
 *
 * The tag sets here are small (3–25 tags), so forward–backward and Viterbi in JS cost microseconds per
 * sentence, while the same recursions as TensorFlow.js ops cost thousands of kernel dispatches per batch.
 * The model calls these through one custom-gradient op (see crf.ts).
 *
 * Layout: emissions[b][t][j] at ((b*T)+t)*n+j; trans[i*n+j] scores tag i followed by tag j.
 */

export interface CrfWeights {
  n: number;
  trans: ArrayLike<number>;
  start: ArrayLike<number>;
  end: ArrayLike<number>;
}

export interface ForwardBackward {
  logZ: number;
  /** Unary marginals p(y_t = j), length L*n. */
  unary: Float64Array;
  /** Pairwise marginals summed over positions, Σ_t p(y_t=i, y_{t+1}=j), length n*n. */
  pairSum: Float64Array;
}

function logSumExp(values: Float64Array, count: number): number {
  let max = -Infinity;
  for (let k = 0; k < count; k++) if (values[k] > max) max = values[k];
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let k = 0; k < count; k++) sum += Math.exp(values[k] - max);
  return max + Math.log(sum);
}

/**
 * Forward–backward over one sentence of length L (offset `off` into emissions), restricted to the tags for
 * which `allowed` (same layout as emissions, or null for all) is non-zero. Restricting every position to
 * one tag scores the gold path; restricting to sets gives the partial-label (marginal) likelihood.
 */
export function forwardBackward(
  w: CrfWeights,
  emissions: ArrayLike<number>,
  off: number,
  L: number,
  allowed: ArrayLike<number> | null,
  withMarginals: boolean,
  allowedOff: number = off,
): ForwardBackward {
  const n = w.n;
  const alpha = new Float64Array(L * n);
  const tmp = new Float64Array(n);
  const ok = (t: number, j: number): boolean => allowed === null || allowed[allowedOff + t * n + j] !== 0;
  for (let j = 0; j < n; j++) alpha[j] = ok(0, j) ? w.start[j] + emissions[off + j] : -Infinity;
  for (let t = 1; t < L; t++) {
    for (let j = 0; j < n; j++) {
      if (!ok(t, j)) {
        alpha[t * n + j] = -Infinity;
        continue;
      }
      for (let i = 0; i < n; i++) tmp[i] = alpha[(t - 1) * n + i] + w.trans[i * n + j];
      alpha[t * n + j] = logSumExp(tmp, n) + emissions[off + t * n + j];
    }
  }
  for (let j = 0; j < n; j++) tmp[j] = alpha[(L - 1) * n + j] + w.end[j];
  const logZ = logSumExp(tmp, n);
  const unary = new Float64Array(withMarginals ? L * n : 0);
  const pairSum = new Float64Array(withMarginals ? n * n : 0);
  if (!withMarginals || logZ === -Infinity) return { logZ, unary, pairSum };

  const beta = new Float64Array(L * n);
  for (let i = 0; i < n; i++) beta[(L - 1) * n + i] = ok(L - 1, i) ? w.end[i] : -Infinity;
  for (let t = L - 2; t >= 0; t--) {
    for (let i = 0; i < n; i++) {
      if (!ok(t, i)) {
        beta[t * n + i] = -Infinity;
        continue;
      }
      for (let j = 0; j < n; j++) tmp[j] = w.trans[i * n + j] + emissions[off + (t + 1) * n + j] + beta[(t + 1) * n + j];
      beta[t * n + i] = logSumExp(tmp, n);
    }
  }
  for (let t = 0; t < L; t++) {
    for (let j = 0; j < n; j++) unary[t * n + j] = Math.exp(alpha[t * n + j] + beta[t * n + j] - logZ);
  }
  for (let t = 0; t + 1 < L; t++) {
    for (let i = 0; i < n; i++) {
      const a = alpha[t * n + i];
      if (a === -Infinity) continue;
      for (let j = 0; j < n; j++) {
        const s = a + w.trans[i * n + j] + emissions[off + (t + 1) * n + j] + beta[(t + 1) * n + j] - logZ;
        if (s > -745) pairSum[i * n + j] += Math.exp(s);
      }
    }
  }
  return { logZ, unary, pairSum };
}

/** Best tag path of one sentence. */
export function viterbi(w: CrfWeights, emissions: ArrayLike<number>, off: number, L: number): { path: number[]; score: number } {
  const n = w.n;
  if (L === 0) return { path: [], score: 0 };
  const score = new Float64Array(L * n);
  const back = new Int32Array(L * n);
  for (let j = 0; j < n; j++) score[j] = w.start[j] + emissions[off + j];
  for (let t = 1; t < L; t++) {
    for (let j = 0; j < n; j++) {
      let best = -Infinity;
      let arg = 0;
      for (let i = 0; i < n; i++) {
        const s = score[(t - 1) * n + i] + w.trans[i * n + j];
        if (s > best) {
          best = s;
          arg = i;
        }
      }
      score[t * n + j] = best + emissions[off + t * n + j];
      back[t * n + j] = arg;
    }
  }
  let best = -Infinity;
  let last = 0;
  for (let j = 0; j < n; j++) {
    const s = score[(L - 1) * n + j] + w.end[j];
    if (s > best) {
      best = s;
      last = j;
    }
  }
  const path = new Array<number>(L);
  path[L - 1] = last;
  for (let t = L - 1; t > 0; t--) path[t - 1] = back[t * n + path[t]];
  return { path, score: best };
}

export interface BatchLoss {
  /** Mean over sentences of −log Σ_allowed paths + log Z. */
  loss: number;
  perSentence: Float64Array;
  gradEmissions: Float32Array;
  gradTrans: Float32Array;
  gradStart: Float32Array;
  gradEnd: Float32Array;
}

/**
 * Negative log-likelihood of a batch and its exact gradient: for each parameter, the expected count under
 * the full distribution minus the expected count under the allowed paths, divided by the batch size.
 * `allowed` has the emissions' layout; padded positions (t ≥ length) are ignored.
 */
export function batchNegLogLikelihood(
  w: CrfWeights,
  emissions: ArrayLike<number>,
  B: number,
  T: number,
  lengths: ArrayLike<number>,
  allowed: ArrayLike<number>,
): BatchLoss {
  const n = w.n;
  const gradEmissions = new Float32Array(B * T * n);
  const gradTrans = new Float32Array(n * n);
  const gradStart = new Float32Array(n);
  const gradEnd = new Float32Array(n);
  const perSentence = new Float64Array(B);
  let total = 0;
  const scale = 1 / Math.max(B, 1);
  for (let b = 0; b < B; b++) {
    const L = lengths[b];
    if (L <= 0) continue;
    const off = b * T * n;
    const full = forwardBackward(w, emissions, off, L, null, true);
    const part = forwardBackward(w, emissions, off, L, allowed, true);
    const nll = full.logZ - part.logZ;
    perSentence[b] = nll;
    total += nll;
    if (part.logZ === -Infinity) continue; // no allowed path: the loss is infinite, no finite gradient
    for (let k = 0; k < L * n; k++) gradEmissions[off + k] = (full.unary[k] - part.unary[k]) * scale;
    for (let k = 0; k < n * n; k++) gradTrans[k] += (full.pairSum[k] - part.pairSum[k]) * scale;
    for (let j = 0; j < n; j++) {
      gradStart[j] += (full.unary[j] - part.unary[j]) * scale;
      gradEnd[j] += (full.unary[(L - 1) * n + j] - part.unary[(L - 1) * n + j]) * scale;
    }
  }
  return { loss: total * scale, perSentence, gradEmissions, gradTrans, gradStart, gradEnd };
}

/** One-hot allowed mask from gold tag ids (layout of emissions). */
export function allowedFromTags(tags: ArrayLike<number>, B: number, T: number, n: number, lengths: ArrayLike<number>): Uint8Array {
  const allowed = new Uint8Array(B * T * n);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < lengths[b]; t++) allowed[(b * T + t) * n + tags[b * T + t]] = 1;
  }
  return allowed;
}

/**
 * Probability that tokens [s, e) carry exactly the tags `spanTags` and that the entity ends there
 * (token e, if any, is not in `continuation`): the span's confidence under the CRF.
 */
export function spanProbability(
  w: CrfWeights,
  emissions: ArrayLike<number>,
  off: number,
  L: number,
  s: number,
  spanTags: number[],
  continuation: number,
  logZ: number,
): number {
  const n = w.n;
  const allowed = new Uint8Array(L * n).fill(1);
  for (let k = 0; k < spanTags.length; k++) {
    const t = s + k;
    for (let j = 0; j < n; j++) allowed[t * n + j] = j === spanTags[k] ? 1 : 0;
  }
  const e = s + spanTags.length;
  if (e < L && continuation >= 0) allowed[e * n + continuation] = 0;
  const part = forwardBackward(w, emissions, off, L, allowed, false, 0);
  return Math.exp(part.logZ - logZ);
}
