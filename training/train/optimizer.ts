import * as tf from '@tensorflow/tfjs';
import type { Variables } from '../model/tagger';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** Global gradient-norm clip (≤ 0: none). */
  clipNorm: number;
}

export const DEFAULT_ADAMW: AdamWOptions = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, clipNorm: 5 };

/** Weight decay applies to weight matrices, not to biases or CRF scores (as is usual for AdamW). */
function decays(name: string, v: tf.Variable): boolean {
  return v.rank >= 2 && !name.includes('.crf.');
}

/**
 * AdamW (decoupled weight decay, Loshchilov & Hutter) with global-norm clipping. TensorFlow.js has Adam but
 * not AdamW, and its optimizers cannot scale gradients by a norm computed over all parameters first.
 */
export class AdamW {
  private readonly m: Record<string, tf.Variable> = {};
  private readonly v: Record<string, tf.Variable> = {};
  private t = 0;

  constructor(
    private readonly vars: Variables,
    readonly opts: AdamWOptions = DEFAULT_ADAMW,
  ) {
    for (const [name, v] of Object.entries(vars)) {
      this.m[name] = tf.tidy(() => tf.variable(tf.zerosLike(v), false));
      this.v[name] = tf.tidy(() => tf.variable(tf.zerosLike(v), false));
    }
  }

  get steps(): number {
    return this.t;
  }

  /** Applies one update; gradients of names not in `grads` count as zero. Returns the pre-clip norm. */
  apply(grads: Record<string, tf.Tensor>, lr: number): number {
    this.t += 1;
    const { beta1, beta2, epsilon, weightDecay, clipNorm } = this.opts;
    const names = Object.keys(grads).filter((n) => this.vars[n]);
    return tf.tidy(() => {
      const sq = names.map((n) => tf.sum(tf.square(grads[n])));
      const norm = tf.sqrt(sq.length ? tf.addN(sq) : tf.scalar(0));
      const normValue = norm.dataSync()[0];
      const scale = clipNorm > 0 && normValue > clipNorm ? clipNorm / (normValue + 1e-6) : 1;
      const bc1 = 1 - Math.pow(beta1, this.t);
      const bc2 = 1 - Math.pow(beta2, this.t);
      for (const name of names) {
        const g = scale === 1 ? grads[name] : tf.mul(grads[name], scale);
        const m = tf.add(tf.mul(this.m[name], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[name], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[name].assign(m);
        this.v[name].assign(v);
        const step = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), epsilon));
        const param = this.vars[name];
        const decayed = decays(name, param) ? tf.mul(param, 1 - lr * weightDecay) : param;
        param.assign(tf.sub(decayed, tf.mul(step, lr)));
      }
      return normValue;
    });
  }

  /** Moments and step count, for checkpoints (the tensors are the live variables: save them, do not keep them). */
  state(): { steps: number; m: Readonly<Record<string, tf.Tensor>>; v: Readonly<Record<string, tf.Tensor>> } {
    return { steps: this.t, m: this.m, v: this.v };
  }

  /** Continues from a checkpoint's moments (names and shapes must match the variables). */
  load(steps: number, m: Readonly<Record<string, tf.Tensor>>, v: Readonly<Record<string, tf.Tensor>>): void {
    for (const name of Object.keys(this.m)) {
      if (!m[name] || !v[name]) throw new Error(`optimizer state lacks ${name}`);
      this.m[name].assign(m[name]);
      this.v[name].assign(v[name]);
    }
    this.t = steps;
  }

  dispose(): void {
    for (const v of [...Object.values(this.m), ...Object.values(this.v)]) v.dispose();
  }
}

/** Linear warm-up over `warmup` steps, then linear decay to 0 at `total`. */
export function linearSchedule(baseLr: number, step: number, total: number, warmup = 0): number {
  if (warmup > 0 && step < warmup) return (baseLr * (step + 1)) / warmup;
  return baseLr * Math.max(0, (total - step) / Math.max(1, total - warmup));
}
