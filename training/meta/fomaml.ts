import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../model/features';
import { disposeSnapshot, restore, snapshot } from '../model/ner-model';
import { encode, labelLoss, Params, TaggerShape, Variables } from '../model/tagger';
import type { AdamW } from '../train/optimizer';
import { disposeGrads, lossAndGrads } from '../train/step';
import type { Rng } from '../util/random';

/** A few-shot task: support and query mini-batches with their allowed-tag masks. */
export interface MetaTask {
  support: { batch: Batch; allowed: Uint8Array };
  query: { batch: Batch; allowed: Uint8Array };
}

export interface FomamlOptions {
  innerSteps: number;
  innerLr: number;
  outerLr: number;
  dropout: number;
}

export interface FomamlResult {
  /** Query loss of each task at its adapted weights. */
  queryLosses: number[];
}

function labelLossOf(vars: Variables, shape: TaggerShape, part: { batch: Batch; allowed: Uint8Array }, dropout: number, rng: Rng): () => tf.Scalar {
  return () => labelLoss(vars as Params, encode(vars as Params, shape, part.batch, { training: dropout > 0, dropout, rng }), part.batch, part.allowed);
}

/**
 * One first-order MAML iteration. For each task: start from the meta-weights (a snapshot cloned before the
 * inner loop, because the inner SGD steps overwrite the live variables), take `innerSteps` plain SGD steps on
 * the support set, take the query-loss gradient at the adapted weights, and add it, scaled by the task's
 * weight, to the meta-gradient. Then restore the meta-weights and apply one outer optimizer step.
 * First order: the query gradient at the adapted weights stands in for the gradient through the inner loop.
 */
export function fomamlIteration(
  vars: Variables,
  wrt: Variables,
  shape: TaggerShape,
  tasks: readonly MetaTask[],
  taskWeights: readonly number[],
  outer: AdamW,
  opts: FomamlOptions,
  rng: Rng,
): FomamlResult {
  const meta = snapshot(wrt);
  const metaGrad: Record<string, tf.Tensor> = {};
  const queryLosses: number[] = [];
  try {
    tasks.forEach((task, i) => {
      for (let s = 0; s < opts.innerSteps; s++) {
        const { grads } = lossAndGrads(labelLossOf(vars, shape, task.support, opts.dropout, rng), wrt);
        tf.tidy(() => {
          for (const [name, g] of Object.entries(grads)) wrt[name].assign(tf.sub(wrt[name], tf.mul(g, opts.innerLr)));
        });
        disposeGrads(grads);
      }
      const { loss, grads } = lossAndGrads(labelLossOf(vars, shape, task.query, opts.dropout, rng), wrt);
      queryLosses.push(loss);
      for (const [name, g] of Object.entries(grads)) {
        const scaled = tf.mul(g, taskWeights[i]);
        if (metaGrad[name]) {
          const sum = tf.add(metaGrad[name], scaled);
          metaGrad[name].dispose();
          scaled.dispose();
          metaGrad[name] = sum;
        } else metaGrad[name] = scaled;
      }
      disposeGrads(grads);
      restore(wrt, meta);
    });
    outer.apply(metaGrad, opts.outerLr);
  } finally {
    disposeSnapshot(meta);
    disposeGrads(metaGrad);
  }
  return { queryLosses };
}
