import * as tf from '@tensorflow/tfjs';
import { customOp } from '../engine/custom-op';
import { Rng } from '../util/random';
import { crfNegLogLikelihood, decodeBatch, DecodedSentence } from './crf';
import type { CrfWeights } from './crf-math';
import type { Batch } from './features';
import { lstmSequence, lstmSequenceInference } from './lstm';

/** Shapes of the BiLSTM-CNN-CRF; stored in the model manifest. */
export interface TaggerShape {
  wordDim: number;
  charVocabSize: number;
  charDim: number;
  charFilters: number;
  /** Width of the char convolution window (odd). */
  charWindow: number;
  maxWordChars: number;
  hidden: number;
  layers: number;
  /**
   * Layers above the first add their input to their output: a stack of 3–4 BiLSTM layers trained from scratch
   * barely learns in a few epochs without it. Absent in manifests written before it existed (= false).
   */
  residual?: boolean;
  numTags: number;
  /** Classes of the domain critic ω (0 = no critic). */
  numDomains: number;
}

export const DEFAULT_SHAPE: Omit<TaggerShape, 'wordDim' | 'charVocabSize' | 'numTags' | 'numDomains'> = {
  charDim: 30,
  charFilters: 50,
  charWindow: 3,
  maxWordChars: 30,
  hidden: 128,
  layers: 1,
  residual: true,
};

/** Parameters by name. Names start with the group they belong to: `enc.` (θ), `dec.` (φ), `critic.` (ω). */
export type Params = Record<string, tf.Tensor>;
export type Variables = Record<string, tf.Variable>;
export type ParamGroup = 'enc' | 'dec' | 'critic';

export function groupOf(name: string): ParamGroup {
  const g = name.slice(0, name.indexOf('.'));
  if (g !== 'enc' && g !== 'dec' && g !== 'critic') throw new Error(`parameter ${name} belongs to no group`);
  return g;
}

function glorot(rng: Rng, shape: [number, number]): tf.Tensor {
  const limit = Math.sqrt(6 / (shape[0] + shape[1]));
  return tf.randomUniform(shape, -limit, limit, 'float32', rng.seed());
}

function lstmInputSize(shape: TaggerShape, layer: number): number {
  return layer === 0 ? shape.wordDim + shape.charFilters : 2 * shape.hidden;
}

/** Initial values for the encoder θ. */
export function initEncoder(shape: TaggerShape, rng: Rng): Record<string, tf.Tensor> {
  return tf.tidy(() => {
    const p: Record<string, tf.Tensor> = {};
    const cl = Math.sqrt(3 / shape.charDim);
    p['enc.charEmb'] = tf.randomUniform([shape.charVocabSize, shape.charDim], -cl, cl, 'float32', rng.seed());
    p['enc.charConv.W'] = glorot(rng, [shape.charWindow * shape.charDim, shape.charFilters]);
    p['enc.charConv.b'] = tf.zeros([shape.charFilters]);
    const H = shape.hidden;
    for (let l = 0; l < shape.layers; l++) {
      for (const dir of ['fwd', 'bwd']) {
        const pre = `enc.lstm${l}.${dir}`;
        p[`${pre}.Wx`] = glorot(rng, [lstmInputSize(shape, l), 4 * H]);
        p[`${pre}.Wh`] = glorot(rng, [H, 4 * H]);
        // Forget-gate bias 1: the usual start that lets gradients through early in training.
        const b = new Float32Array(4 * H);
        b.fill(1, H, 2 * H);
        p[`${pre}.b`] = tf.tensor1d(b);
      }
    }
    return p;
  });
}

/** Initial values for a decoder φ over `numTags` tags (a new head for heterogeneous adaptation, too). */
export function initDecoder(shape: TaggerShape, numTags: number, rng: Rng, prefix = 'dec'): Record<string, tf.Tensor> {
  return tf.tidy(() => ({
    [`${prefix}.out.W`]: glorot(rng, [2 * shape.hidden, numTags]),
    [`${prefix}.out.b`]: tf.zeros([numTags]),
    [`${prefix}.crf.trans`]: tf.randomUniform([numTags, numTags], -0.1, 0.1, 'float32', rng.seed()),
    [`${prefix}.crf.start`]: tf.zeros([numTags]),
    [`${prefix}.crf.end`]: tf.zeros([numTags]),
  }));
}

export function initCritic(shape: TaggerShape, rng: Rng): Record<string, tf.Tensor> {
  if (shape.numDomains === 0) return {};
  return tf.tidy(() => ({
    'critic.W': glorot(rng, [2 * shape.hidden, shape.numDomains]),
    'critic.b': tf.zeros([shape.numDomains]),
  }));
}

let variableCount = 0;

/** TensorFlow.js variable names are global to the process, and several models may live in one. */
export function makeVariable(name: string, value: tf.Tensor): tf.Variable {
  return tf.variable(value, true, `${name}#${++variableCount}`);
}

/** Turns initial values into variables, disposing the values. */
export function toVariables(values: Record<string, tf.Tensor>): Variables {
  const vars: Variables = {};
  for (const [name, t] of Object.entries(values)) {
    vars[name] = makeVariable(name, t);
    t.dispose();
  }
  return vars;
}

export function initParams(shape: TaggerShape, seed: number): Variables {
  const rng = new Rng(seed);
  return toVariables({ ...initEncoder(shape, rng), ...initDecoder(shape, shape.numTags, rng), ...initCritic(shape, rng) });
}

export interface ForwardOptions {
  training: boolean;
  dropout: number;
  /** Seeds for dropout masks; required when training. */
  rng?: Rng;
}

function dropout(x: tf.Tensor, opts: ForwardOptions): tf.Tensor {
  if (!opts.training || opts.dropout <= 0) return x;
  return tf.dropout(x, opts.dropout, undefined, opts.rng?.seed());
}

/**
 * Max over axis 1 of [U, Lc, F] with the gradient routed to the arg-max. Neither built-in fits on wasm:
 * max()'s gradient is a broadcast Equal that wasm runs slowly, and wasm's MaxPoolGrad drops gradients
 * for some channels (checked against the cpu backend in the gradient test).
 */
const maxOverPositions = customOp(([x], save) => {
  const arg = tf.argMax(x, 1);
  save([arg]);
  const Lc = x.shape[1] as number;
  return {
    value: tf.max(x, 1),
    // oneHot needs depth ≥ 2; with one position the max is the identity.
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
      Lc === 1 ? tf.expandDims(dy, 1) : tf.transpose(tf.mul(tf.oneHot(saved[0], Lc), tf.expandDims(dy, 2)), [0, 2, 1]),
  };
}) as (x: tf.Tensor) => tf.Tensor2D;

/** Char-CNN features of every token: [B*T, charFilters], computed once per distinct word of the batch. */
function charFeatures(p: Params, shape: TaggerShape, batch: Batch): tf.Tensor2D {
  const { U, Lc } = batch;
  const ids = tf.tensor1d(batch.chars, 'int32');
  const present = tf.tensor2d(batch.charPresent, [U * Lc, 1]);
  // Padding ids must contribute zeros to the convolution, like a padding_idx embedding row.
  const emb = tf.mul(tf.gather(p['enc.charEmb'], ids), present).reshape([U, Lc, shape.charDim]);
  const half = (shape.charWindow - 1) / 2;
  const padded = tf.pad(emb, [[0, 0], [half, half], [0, 0]]);
  const windows: tf.Tensor[] = [];
  for (let k = 0; k < shape.charWindow; k++) windows.push(tf.slice(padded, [0, k, 0], [U, Lc, shape.charDim]));
  // Convolution as unfold + one matMul: wasm has no Conv2DBackpropFilter.
  const unfolded = tf.concat(windows, 2).reshape([U * Lc, shape.charWindow * shape.charDim]);
  const conv = tf.add(tf.matMul(unfolded, p['enc.charConv.W']), p['enc.charConv.b']);
  const masked = tf.add(conv, tf.tensor2d(batch.charPoolMask, [U * Lc, 1])).reshape([U, Lc, shape.charFilters]);
  return tf.gather(maxOverPositions(masked), tf.tensor1d(batch.tokenWord, 'int32')) as tf.Tensor2D;
}

/** Encoder θ: [B, T, 2H] contextual token representations. */
export function encode(p: Params, shape: TaggerShape, batch: Batch, opts: ForwardOptions): tf.Tensor3D {
  const { B, T } = batch;
  const H = shape.hidden;
  // Inference frees each stage's intermediates as it goes (the wasm heap keeps its peak for good); training
  // keeps them for the gradients.
  const stage = <R extends tf.TensorContainer>(f: () => R): R => (opts.training ? f() : tf.tidy(f));
  let x = stage(() => {
    const words = tf.tensor2d(batch.words, [B * T, shape.wordDim]);
    return toTimeMajor(dropout(tf.concat([words, charFeatures(p, shape, batch)], 1), opts), B, T);
  });
  const mask = tf.tensor2d(batch.tokenMask, [B, T]).transpose().reshape([T, B, 1]) as tf.Tensor3D;
  const direction = (pre: string, input: tf.Tensor2D, reverse: boolean): tf.Tensor3D =>
    stage(() => {
      // All time steps' input projections in one product; time-major so that each step's slice is contiguous.
      const proj = tf.add(tf.matMul(input, p[`${pre}.Wx`]), p[`${pre}.b`]).reshape([T, B, 4 * H]) as tf.Tensor3D;
      return (opts.training ? lstmSequence : lstmSequenceInference)(proj, p[`${pre}.Wh`] as tf.Tensor2D, mask, reverse);
    });
  for (let l = 0; l < shape.layers; l++) {
    const fwd = direction(`enc.lstm${l}.fwd`, x, false);
    const bwd = direction(`enc.lstm${l}.bwd`, x, true);
    const out = tf.concat([fwd, bwd], 2).reshape([T * B, 2 * H]) as tf.Tensor2D;
    x = dropout(l > 0 && shape.residual ? tf.add(out, x) : out, opts) as tf.Tensor2D;
  }
  return x.reshape([T, B, 2 * H]).transpose([1, 0, 2]);
}

function toTimeMajor(x: tf.Tensor, B: number, T: number): tf.Tensor2D {
  const F = x.shape[x.rank - 1] as number;
  return x.reshape([B, T, F]).transpose([1, 0, 2]).reshape([T * B, F]);
}

/** Decoder φ's emission scores [B, T, n]. */
export function emissionsOf(p: Params, enc: tf.Tensor3D, prefix = 'dec'): tf.Tensor3D {
  const [B, T, D] = enc.shape;
  const W = p[`${prefix}.out.W`];
  const n = W.shape[1] as number;
  return tf.add(tf.matMul(enc.reshape([B * T, D]), W), p[`${prefix}.out.b`]).reshape([B, T, n]);
}

/** L_lab: mean CRF NLL over the batch with the given allowed-tag mask. */
export function labelLoss(p: Params, enc: tf.Tensor3D, batch: Batch, allowed: Uint8Array, prefix = 'dec'): tf.Scalar {
  return crfNegLogLikelihood(
    emissionsOf(p, enc, prefix),
    p[`${prefix}.crf.trans`],
    p[`${prefix}.crf.start`],
    p[`${prefix}.crf.end`],
    batch.lengths,
    allowed,
  );
}

/** L_cls: the critic ω's cross-entropy of the domain of each sentence, from the mean-pooled encoding. */
export function criticLoss(p: Params, enc: tf.Tensor3D, batch: Batch, domainIds: Int32Array): tf.Scalar {
  const { B, T } = batch;
  const mask = tf.tensor3d(batch.tokenMask, [B, T, 1]);
  const counts = tf.maximum(tf.sum(mask, 1), 1);
  const pooled = tf.div(tf.sum(tf.mul(enc, mask), 1), counts);
  const logits = tf.add(tf.matMul(pooled, p['critic.W']), p['critic.b']);
  const numDomains = p['critic.W'].shape[1] as number;
  return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(domainIds, 'int32'), numDomains), logits) as tf.Scalar;
}

/** CRF weights of a decoder on the CPU, for decoding. */
export function crfWeightsOf(p: Params, prefix = 'dec'): CrfWeights {
  const trans = p[`${prefix}.crf.trans`];
  return {
    n: trans.shape[0] as number,
    trans: trans.dataSync() as Float32Array,
    start: p[`${prefix}.crf.start`].dataSync() as Float32Array,
    end: p[`${prefix}.crf.end`].dataSync() as Float32Array,
  };
}

export interface DecodedBatch {
  sentences: DecodedSentence[];
  /** Emission scores [B*T*n], kept for span confidences. */
  emissions: Float32Array;
  crf: CrfWeights;
}

/** Inference: Viterbi paths with token marginals. */
export function decode(p: Params, shape: TaggerShape, batch: Batch, prefix = 'dec'): DecodedBatch {
  const emissions = tf.tidy(() => emissionsOf(p, encode(p, shape, batch, { training: false, dropout: 0 }), prefix));
  const data = emissions.dataSync() as Float32Array;
  emissions.dispose();
  const crf = crfWeightsOf(p, prefix);
  return { sentences: decodeBatch(crf, data, batch.B, batch.T, batch.lengths), emissions: data, crf };
}
