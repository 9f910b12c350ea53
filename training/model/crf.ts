import * as tf from '@tensorflow/tfjs';
import { customOp } from '../engine/custom-op';
import { batchNegLogLikelihood, CrfWeights, forwardBackward, spanProbability, viterbi } from './crf-math';

/**
 * Mean CRF negative log-likelihood of a batch as one differentiable op. The recursion runs in JS
 * (crf-math.ts); the op hands TensorFlow.js its exact gradient w.r.t. emissions and the CRF weights.
 *
 * `allowed` (layout [B, T, n]) marks the tags each token may take: one tag per token for ordinary
 * supervision, a set for the partial-label loss of corpora that leave some types unannotated.
 */
export function crfNegLogLikelihood(
  emissions: tf.Tensor,
  trans: tf.Tensor,
  start: tf.Tensor,
  end: tf.Tensor,
  lengths: Int32Array,
  allowed: Uint8Array,
): tf.Scalar {
  const [B, T, n] = emissions.shape as [number, number, number];
  const op = customOp(([e, tr, st, en]) => {
    const w: CrfWeights = { n, trans: tr.dataSync(), start: st.dataSync(), end: en.dataSync() };
    const r = batchNegLogLikelihood(w, e.dataSync(), B, T, lengths, allowed);
    return {
      value: tf.scalar(r.loss),
      gradFunc: (dy: tf.Tensor) => [
        tf.mul(tf.tensor3d(r.gradEmissions, [B, T, n]), dy),
        tf.mul(tf.tensor2d(r.gradTrans, [n, n]), dy),
        tf.mul(tf.tensor1d(r.gradStart), dy),
        tf.mul(tf.tensor1d(r.gradEnd), dy),
      ],
    };
  });
  return op(emissions, trans, start, end) as tf.Scalar;
}

export interface DecodedSentence {
  /** Best tag id per token. */
  path: number[];
  /** Marginal probability of the best tag at each token. */
  tokenConfidence: number[];
  /** log Z, kept for span confidences. */
  logZ: number;
}

/** Viterbi paths and token marginals for every sentence of a batch (emissions already on the CPU). */
export function decodeBatch(w: CrfWeights, emissions: Float32Array, B: number, T: number, lengths: ArrayLike<number>): DecodedSentence[] {
  const out: DecodedSentence[] = [];
  for (let b = 0; b < B; b++) {
    const L = lengths[b];
    const off = b * T * w.n;
    if (L === 0) {
      out.push({ path: [], tokenConfidence: [], logZ: 0 });
      continue;
    }
    const { path } = viterbi(w, emissions, off, L);
    const fb = forwardBackward(w, emissions, off, L, null, true);
    out.push({ path, tokenConfidence: path.map((j, t) => fb.unary[t * w.n + j]), logZ: fb.logZ });
  }
  return out;
}

export { spanProbability };
