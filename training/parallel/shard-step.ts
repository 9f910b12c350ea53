import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../model/features';
import { encode, labelLoss, Params, TaggerShape, Variables } from '../model/tagger';
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
  seed: number;
  view: [string, string][];
}

/** The identity view over parameters whose names start with `enc.` or `dec.` (supervised training). */
export function identityView(vars: Readonly<Record<string, unknown>>): [string, string][] {
  return Object.keys(vars)
    .filter((n) => n.startsWith('enc.') || n.startsWith('dec.'))
    .map((n) => [n, n]);
}

/** Mean label loss of the shard and its gradients, keyed by parameter (not view) name. */
export function shardGradients(vars: Variables, shape: TaggerShape, job: ShardJob): { loss: number; grads: Record<string, tf.Tensor> } {
  const view: Variables = {};
  for (const [v, g] of job.view) {
    if (!vars[g]) throw new Error(`shard reads unknown parameter ${g}`);
    view[v] = vars[g];
  }
  const rng = new Rng(job.seed);
  const { loss, grads } = lossAndGrads(
    () => labelLoss(view as Params, encode(view as Params, shape, job.batch, { training: true, dropout: job.dropout, rng }), job.batch, job.allowed),
    view,
  );
  const byName: Record<string, tf.Tensor> = {};
  for (const [v, g] of job.view) byName[g] = grads[v];
  return { loss, grads: byName };
}

/** Contiguous shards of near-equal size (fewer than `n` when there are fewer items). */
export function splitShards<T>(items: readonly T[], n: number): T[][] {
  const k = Math.max(1, Math.min(n, items.length));
  const out: T[][] = [];
  for (let i = 0; i < k; i++) out.push(items.slice(Math.floor((i * items.length) / k), Math.floor(((i + 1) * items.length) / k)));
  return out;
}
