import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../model/features';
import { disposeSnapshot, restore, snapshot } from '../model/ner-model';
import { criticLoss, encode, groupOf, labelLoss, ParamGroup, Params, TaggerShape, Variables } from '../model/tagger';
import type { AdamW } from '../train/optimizer';
import { disposeGrads, lossAndGrads } from '../train/step';
import { Rng } from '../util/random';
import { taskHardness, TaskHardness, uniformWeights } from './hardness';

/** One side of a few-shot task, ready for the model: a mini-batch, its allowed-tag mask, its sentences' domains. */
export interface TaskPart {
  batch: Batch;
  allowed: Uint8Array;
  /** Domain id of each sentence, for the critic ω. */
  domains?: Int32Array;
}

export interface MetaTask {
  support: TaskPart;
  query: TaskPart;
}

export interface FomamlOptions {
  innerSteps: number;
  /** β: plain SGD rate of the inner (adaptation) steps. */
  innerLr: number;
  /** α: learning rate of the outer optimizer step. */
  outerLr: number;
  dropout: number;
  /** λ of L = L_lab + λ·L_cls; 0 (or a model without critic) trains without the critic ω. */
  lambda?: number;
  /** 'hardness' weighs each task by Eq. 2 per parameter group (MetaBioNER); 'uniform' by 1/m (MetaNER, MAML). */
  weighting?: 'hardness' | 'uniform';
}

export interface FomamlResult {
  /** L_lab of each task's query set at its adapted weights. */
  queryLabelLosses: number[];
  /** L_cls of each task's query set (0 without critic). */
  queryCriticLosses: number[];
  /** The weights γ each task's gradient got, per parameter group. */
  weights: TaskHardness;
}

/**
 * L = L_lab + λ·L_cls of one task part and its gradients: θ from L, φ from L_lab, ω from L_cls (Algorithm 2,
 * lines 3–8 and 10–11; φ does not reach L_cls and ω does not reach L_lab, so ω's gradient of L is divided by λ).
 */
function objective(vars: Variables, wrt: Variables, shape: TaggerShape, lab: TaskPart, cls: TaskPart, lambda: number, dropout: number, rng: Rng) {
  let labValue = 0;
  let clsValue = 0;
  const { grads } = lossAndGrads(() => {
    const p = vars as Params;
    const opts = { training: dropout > 0, dropout, rng };
    const encoded = encode(p, shape, lab.batch, opts);
    const lLab = labelLoss(p, encoded, lab.batch, lab.allowed);
    labValue = lLab.dataSync()[0];
    if (lambda <= 0 || !cls.domains) return lLab;
    // On the query set (lines 10–11) both losses read the same encoding: one forward pass, not two.
    const lCls = criticLoss(p, cls === lab ? encoded : encode(p, shape, cls.batch, opts), cls.batch, cls.domains);
    clsValue = lCls.dataSync()[0];
    return tf.add(lLab, tf.mul(lCls, lambda)) as tf.Scalar;
  }, wrt);
  if (lambda > 0) {
    for (const [name, g] of Object.entries(grads)) {
      if (groupOf(name) !== 'critic') continue;
      grads[name] = tf.div(g, lambda);
      g.dispose();
    }
  }
  return { labValue, clsValue, grads };
}

/** What one task gives the outer step: its query losses at the adapted weights and the query gradients there. */
export interface TaskOutcome {
  labelLoss: number;
  criticLoss: number;
  grads: Record<string, tf.Tensor>;
}

/**
 * One task of a first-order meta-iteration (Algorithm 2): adapt the weights `wrt` on the support set with
 * plain SGD, take the query losses and gradients at the adapted weights, and put the meta-weights back
 * (cloned before the inner loop, whose steps overwrite the live variables). The task's dropout draws come
 * from its own generator, so tasks computed on different threads give what one thread would.
 */
export function adaptAndQuery(vars: Variables, wrt: Variables, shape: TaggerShape, task: MetaTask, opts: Pick<FomamlOptions, 'innerSteps' | 'innerLr' | 'dropout' | 'lambda'>, rng: Rng): TaskOutcome {
  const lambda = opts.lambda ?? 0;
  const meta = snapshot(wrt);
  try {
    for (let s = 0; s < opts.innerSteps; s++) {
      const { grads } = objective(vars, wrt, shape, task.support, task.query, lambda, opts.dropout, rng);
      tf.tidy(() => {
        for (const [name, g] of Object.entries(grads)) wrt[name].assign(tf.sub(wrt[name], tf.mul(g, opts.innerLr)));
      });
      disposeGrads(grads);
    }
    const q = objective(vars, wrt, shape, task.query, task.query, lambda, opts.dropout, rng);
    return { labelLoss: q.labValue, criticLoss: q.clsValue, grads: q.grads };
  } finally {
    restore(wrt, meta);
    disposeSnapshot(meta);
  }
}

/**
 * The outer step of a first-order meta-iteration (MetaBioNER Algorithms 1–2): weigh the tasks' query gradients
 * — by hardness γ per parameter group, or uniformly — sum, and apply one outer step; when every weight is 0
 * nothing moves. First order: the query gradient at the adapted weights stands in for the gradient through the
 * inner loop (second-order terms through the LSTM are not available). Disposes the outcomes' gradients.
 */
export function metaUpdate(outcomes: readonly TaskOutcome[], outer: AdamW, opts: FomamlOptions): FomamlResult {
  const lambda = opts.lambda ?? 0;
  const labLosses = outcomes.map((o) => o.labelLoss);
  const clsLosses = outcomes.map((o) => o.criticLoss);
  try {
    const n = outcomes.length;
    const weights: TaskHardness =
      opts.weighting === 'hardness' ? taskHardness(labLosses, clsLosses, lambda) : { theta: uniformWeights(n), phi: uniformWeights(n), omega: uniformWeights(n) };
    const byGroup: Record<ParamGroup, number[]> = { enc: weights.theta, dec: weights.phi, critic: weights.omega };
    const metaGrad = combineTaskGradients(
      outcomes.map((o) => o.grads),
      (name, i) => byGroup[groupOf(name)][i],
    );
    try {
      if (Object.values(byGroup).some((w) => w.some((x) => x > 0))) outer.apply(metaGrad, opts.outerLr);
    } finally {
      disposeGrads(metaGrad);
    }
    return { queryLabelLosses: labLosses, queryCriticLosses: clsLosses, weights };
  } finally {
    for (const o of outcomes) disposeGrads(o.grads);
  }
}

/** Each task's dropout seed, drawn in task order whether the tasks then run on one thread or several. */
export function taskSeeds(n: number, rng: Rng): number[] {
  return Array.from({ length: n }, () => rng.seed());
}

/** A first-order meta-iteration on one thread: every task in turn (each with its own seed), then the outer step. */
export function fomamlIteration(vars: Variables, wrt: Variables, shape: TaggerShape, tasks: readonly MetaTask[], outer: AdamW, opts: FomamlOptions, rng: Rng): FomamlResult {
  const seeds = taskSeeds(tasks.length, rng);
  const outcomes: TaskOutcome[] = [];
  try {
    tasks.forEach((task, i) => outcomes.push(adaptAndQuery(vars, wrt, shape, task, opts, new Rng(seeds[i]))));
  } catch (err) {
    for (const o of outcomes) disposeGrads(o.grads);
    throw err;
  }
  return metaUpdate(outcomes, outer, opts);
}

/** Σᵢ wᵢ·gᵢ per parameter, with the weight chosen per parameter name and task. */
export function combineTaskGradients(taskGrads: readonly Record<string, tf.Tensor>[], weight: (name: string, task: number) => number): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  if (taskGrads.length === 0) return out;
  for (const name of Object.keys(taskGrads[0])) {
    out[name] = tf.tidy(() => tf.addN(taskGrads.map((g, i) => tf.mul(g[name], weight(name, i)))));
  }
  return out;
}
