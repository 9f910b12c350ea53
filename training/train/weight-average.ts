import * as tf from '@tensorflow/tfjs';
import { disposeSnapshot, restore, snapshot } from '../model/ner-model';
import type { Variables } from '../model/tagger';

/**
 * An exponential moving average of the parameters over optimizer steps (Polyak averaging). With small batches
 * and dropout, the weights after the last step are one noisy point around the minimum; their recent average
 * usually tags better, and costs one multiply-add per parameter per step. Early on the decay is
 * min(decay, (1 + t) / (10 + t)) so the average is not dominated by the random initialisation.
 */
export class WeightAverage {
  private readonly avg: Record<string, tf.Variable> = {};

  constructor(
    private readonly params: Variables,
    readonly decay: number,
    private updates = 0,
    from?: Readonly<Record<string, tf.Tensor>>,
  ) {
    if (!(decay > 0 && decay < 1)) throw new Error(`weight-average decay must be in (0, 1), got ${decay}`);
    for (const [name, v] of Object.entries(params)) {
      const start = from?.[name];
      if (start && start.shape.join() !== v.shape.join()) throw new Error(`averaged ${name} has shape [${start.shape}], the model needs [${v.shape}]`);
      this.avg[name] = tf.tidy(() => tf.variable(tf.clone(start ?? v), false));
    }
  }

  /** Steps averaged so far (kept in checkpoints: the early decay depends on it). */
  get steps(): number {
    return this.updates;
  }

  /** Folds the current values of the parameters that just changed into the average. */
  update(changed: Iterable<string>): void {
    this.updates++;
    const d = Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
    tf.tidy(() => {
      for (const name of changed) {
        const a = this.avg[name];
        if (a) a.assign(tf.add(tf.mul(a, d), tf.mul(this.params[name], 1 - d)));
      }
    });
  }

  /** The averaged tensors (live: save or copy them, do not keep or dispose them). */
  tensors(): Readonly<Record<string, tf.Tensor>> {
    return this.avg;
  }

  /**
   * Runs `f` with the averaged weights in the parameters and puts the trained ones back afterwards, even if
   * `f` throws. `changed` is told which parameters changed (e.g. to publish them to worker replicas).
   */
  async withAveraged<T>(f: () => Promise<T>, changed: (names: string[]) => void = () => {}): Promise<T> {
    const live = snapshot(this.params);
    const names = Object.keys(this.params);
    try {
      restore(this.params, this.avg);
      changed(names);
      return await f();
    } finally {
      restore(this.params, live);
      disposeSnapshot(live);
      changed(names);
    }
  }

  dispose(): void {
    for (const v of Object.values(this.avg)) v.dispose();
  }
}
