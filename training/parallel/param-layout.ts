import * as tf from '@tensorflow/tfjs';
import type { Variables } from '../model/tagger';

/** Where each parameter lives in a flat float32 buffer shared between threads. */
export interface ParamSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export interface ParamLayout {
  slots: ParamSlot[];
  /** Total floats. */
  size: number;
}

export function layoutOf(vars: Readonly<Record<string, tf.Tensor>>): ParamLayout {
  const slots: ParamSlot[] = [];
  let size = 0;
  for (const name of Object.keys(vars).sort()) {
    const t = vars[name];
    slots.push({ name, shape: [...t.shape], offset: size, size: t.size });
    size += t.size;
  }
  return { slots, size };
}

export function slotMap(layout: ParamLayout): Map<string, ParamSlot> {
  return new Map(layout.slots.map((s) => [s.name, s]));
}

/** Copies the named tensors' values into `flat` at their slots. */
export function writeFlat(slots: Map<string, ParamSlot>, tensors: Readonly<Record<string, tf.Tensor>>, flat: Float32Array, names: Iterable<string> = Object.keys(tensors)): void {
  for (const name of names) {
    const s = slots.get(name);
    if (!s) throw new Error(`no slot for parameter ${name}`);
    flat.set(tensors[name].dataSync() as Float32Array, s.offset);
  }
}

/** Assigns the named variables from `flat`. */
export function assignFromFlat(slots: Map<string, ParamSlot>, vars: Variables, flat: Float32Array, names: Iterable<string>): void {
  for (const name of names) {
    const s = slots.get(name) as ParamSlot;
    // A copy: tensors must not alias memory that another thread rewrites.
    tf.tidy(() => vars[name].assign(tf.tensor(flat.slice(s.offset, s.offset + s.size), s.shape)));
  }
}
