import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../model/features';
import { decode, encode, labelLoss, Params, TaggerShape, Variables } from '../model/tagger';
import { lossAndGrads } from '../train/step';
import { Rng } from '../util/random';

/**
 * One shard of a mini-batch, as every thread computes it: the batch (featurized by the main thread), its
 * allowed-tag mask, the dropout seed of this shard, and which parameters the loss reads under which name
 * (`view` pairs [view name, parameter name]: a multi-task corpus reads shared and private weights under the
 * single-tagger names).
 */
export interface ShardJob {
  batch: Batch;
  allowed: Uint8Array;
  dropout: number;
  /** Probability that a token's word vector is zeroed (word dropout; the char-CNN still sees the token). */
  wordDropout?: number;
  seed: number;
  view: [string, string][];
}

/** The identity view over parameters whose names start with `enc.` or `dec.` (supervised training). */
export function identityView(vars: Readonly<Record<string, unknown>>): [string, string][] {
  return Object.keys(vars)
    .filter((n) => n.startsWith('enc.') || n.startsWith('dec.'))
    .map((n) => [n, n]);
}

/** The variables a view reads, under its names. */
export function viewVariables(vars: Variables, view: readonly [string, string][]): Variables {
  const out: Variables = {};
  for (const [v, g] of view) {
    if (!vars[g]) throw new Error(`view reads unknown parameter ${g}`);
    out[v] = vars[g];
  }
  return out;
}

/** Viterbi tag ids of every sentence of each batch, by the view's tagger. */
export function decodePaths(vars: Variables, shape: TaggerShape, view: readonly [string, string][], batches: readonly Batch[]): number[][][] {
  const p = viewVariables(vars, view) as Params;
  return batches.map((b) => decode(p, shape, b).sentences.map((s) => s.path));
}

/** Mean label loss of the shard and its gradients, keyed by parameter (not view) name. */
export function shardGradients(vars: Variables, shape: TaggerShape, job: ShardJob): { loss: number; grads: Record<string, tf.Tensor> } {
  const view = viewVariables(vars, job.view);
  const rng = new Rng(job.seed);
  const batch = job.wordDropout ? withWordDropout(job.batch, job.wordDropout, new Rng((job.seed ^ 0x5bd1e995) >>> 0)) : job.batch;
  const { loss, grads } = lossAndGrads(
    () => labelLoss(view as Params, encode(view as Params, shape, batch, { training: true, dropout: job.dropout, rng }), batch, job.allowed),
    view,
  );
  const byName: Record<string, tf.Tensor> = {};
  for (const [v, g] of job.view) byName[g] = grads[v];
  return { loss, grads: byName };
}

/**
 * A copy of the batch in which each real token's word vector is zeroed with probability `p`: the tagger must also
 * recognise entities from their characters and context, as it must for words the vectors do not know.
 */
export function withWordDropout(batch: Batch, p: number, rng: Rng): Batch {
  const D = batch.words.length / Math.max(1, batch.B * batch.T);
  const words = batch.words.slice();
  for (let pos = 0; pos < batch.B * batch.T; pos++) if (batch.tokenMask[pos] > 0 && rng.next() < p) words.fill(0, pos * D, (pos + 1) * D);
  return { ...batch, words };
}

/**
 * Shards of near-equal size, dealt round-robin (fewer than `n` when there are fewer items). Batches hold sentences
 * of similar length sorted by length; dealing them out gives every shard about the batch's longest length, so the
 * shards take about as long as each other — the LSTM's cost grows with the padded length, and contiguous shards
 * left the thread with the longest sentences as slow as the whole batch on one thread.
 */
export function splitShards<T>(items: readonly T[], n: number): T[][] {
  const k = Math.max(1, Math.min(n, items.length));
  const out: T[][] = Array.from({ length: k }, () => []);
  items.forEach((item, i) => out[i % k].push(item));
  return out;
}
