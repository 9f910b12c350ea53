import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../model/features';
import { encode, labelLoss, Params, TaggerShape, Variables } from '../model/tagger';
import type { Rng } from '../util/random';
import type { AdamW } from './optimizer';

/** Variables whose names start with one of `prefixes`. */
export function pick(vars: Variables, prefixes: readonly string[]): Variables {
  const out: Variables = {};
  for (const [name, v] of Object.entries(vars)) if (prefixes.some((p) => name.startsWith(p))) out[name] = v;
  return out;
}

/**
 * Loss and gradients of f with respect to `wrt`; nothing else stays allocated. A parameter f does not read (e.g.
 * another corpus' convention layer of a unified model) has no gradient and no entry.
 */
export function lossAndGrads(f: () => tf.Scalar, wrt: Variables): { loss: number; grads: Record<string, tf.Tensor> } {
  const names = Object.keys(wrt);
  const { value, grads } = tf.variableGrads(f, names.map((n) => wrt[n]));
  const loss = value.dataSync()[0];
  value.dispose();
  // variableGrads keys gradients by variable name; map them back to our parameter names.
  const byName: Record<string, tf.Tensor> = {};
  for (const n of names) {
    const g = grads[wrt[n].name] as tf.Tensor | null | undefined;
    if (g) byName[n] = g;
  }
  return { loss, grads: byName };
}

export function disposeGrads(grads: Record<string, tf.Tensor>): void {
  for (const g of Object.values(grads)) g.dispose();
}

/**
 * One supervised update of encoder and decoder (or the parameters under `prefixes`) on a batch; returns the batch
 * loss before the update. A parameter with a mask has its gradient multiplied by it first (0 = frozen entry).
 */
export function supervisedStep(
  vars: Variables,
  shape: TaggerShape,
  batch: Batch,
  allowed: Uint8Array,
  opt: AdamW,
  lr: number,
  dropout: number,
  rng: Rng,
  prefixes: readonly string[] = ['enc.', 'dec.'],
  masks: Readonly<Record<string, tf.Tensor>> = {},
): number {
  const wrt = pick(vars, prefixes);
  const { loss, grads } = lossAndGrads(
    () => labelLoss(vars as Params, encode(vars as Params, shape, batch, { training: true, dropout, rng }), batch, allowed),
    wrt,
  );
  for (const [name, g] of Object.entries(grads)) {
    if (!masks[name]) continue;
    grads[name] = tf.mul(g, masks[name]);
    g.dispose();
  }
  opt.apply(grads, lr);
  disposeGrads(grads);
  return loss;
}
