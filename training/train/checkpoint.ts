import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeDirAtomic } from '../io/atomic';
import { snapshot } from '../model/ner-model';
import type { Variables } from '../model/tagger';
import { Rng } from '../util/random';
import type { AdamW } from './optimizer';

const STATE = 'checkpoint.json';
const TENSORS = 'tensors.bin';
const FORMAT = 'metabioner-checkpoint';

/**
 * What a training loop needs to continue exactly where it stopped: its weights, the optimizer's moments,
 * the random generator's state, the loop's own counters and the options it ran with. The word vectors are
 * not in it: they never change during training and the caller passes them again on resume.
 */
export interface Checkpoint<P> {
  kind: string;
  progress: P;
  rngState: number;
  optimizerSteps: number;
  options: Record<string, unknown>;
  /** Named groups of tensors: `params`, `adam.m`, `adam.v`, and any the loop adds (e.g. `best`). */
  tensors: Record<string, Record<string, tf.Tensor>>;
}

interface Entry {
  group: string;
  name: string;
  shape: number[];
  offset: number;
}

interface StateFile<P> extends Omit<Checkpoint<P>, 'tensors'> {
  format: typeof FORMAT;
  savedAt: string;
  entries: Entry[];
  sha256: string;
}

export class CheckpointError extends Error {
  constructor(dir: string, problem: string) {
    super(`Cannot resume from checkpoint ${dir}: ${problem}`);
    this.name = 'CheckpointError';
  }
}

export function hasCheckpoint(dir: string | undefined): dir is string {
  return !!dir && fs.existsSync(path.join(dir, STATE));
}

/** The usual groups of a checkpoint: live parameters and optimizer moments, plus extra groups. */
export function trainingTensors(params: Variables, optimizer: AdamW, extra: Record<string, Record<string, tf.Tensor>> = {}): Record<string, Record<string, tf.Tensor>> {
  const s = optimizer.state();
  return { params, 'adam.m': { ...s.m }, 'adam.v': { ...s.v }, ...extra };
}

/** Writes the checkpoint directory atomically: a crash mid-write leaves the previous checkpoint intact. */
export function saveCheckpoint<P>(dir: string, c: Checkpoint<P>): void {
  const entries: Entry[] = [];
  let total = 0;
  for (const group of Object.keys(c.tensors).sort()) {
    for (const name of Object.keys(c.tensors[group]).sort()) {
      const t = c.tensors[group][name];
      entries.push({ group, name, shape: t.shape, offset: total });
      total += t.size;
    }
  }
  const buf = new Float32Array(total);
  for (const e of entries) buf.set(c.tensors[e.group][e.name].dataSync() as Float32Array, e.offset);
  const bytes = new Uint8Array(buf.buffer);
  const state: StateFile<P> = {
    format: FORMAT,
    savedAt: new Date().toISOString(),
    kind: c.kind,
    progress: c.progress,
    rngState: c.rngState,
    optimizerSteps: c.optimizerSteps,
    options: c.options,
    entries,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
  writeDirAtomic(dir, (tmp) => {
    fs.writeFileSync(path.join(tmp, TENSORS), bytes);
    fs.writeFileSync(path.join(tmp, STATE), JSON.stringify(state, null, 1) + '\n');
  });
}

function readState<P>(dir: string, kind: string): StateFile<P> {
  let state: StateFile<P>;
  try {
    state = JSON.parse(fs.readFileSync(path.join(dir, STATE), 'utf8')) as StateFile<P>;
  } catch (err) {
    throw new CheckpointError(dir, `${STATE} is unreadable (${(err as Error).message})`);
  }
  if (state.format !== FORMAT) throw new CheckpointError(dir, `${STATE} is not a ${FORMAT}`);
  if (state.kind !== kind) throw new CheckpointError(dir, `it was written by ${state.kind} training, not ${kind}`);
  return state;
}

/** The options a checkpoint's run was started with, if `dir` holds a checkpoint of that kind (no tensors read). */
export function checkpointOptions(dir: string | undefined, kind: string): Record<string, unknown> | undefined {
  return hasCheckpoint(dir) ? readState(dir, kind).options : undefined;
}

/** Reads a checkpoint of the given kind; the caller owns (and disposes) the returned tensors. */
export function loadCheckpoint<P>(dir: string, kind: string): Checkpoint<P> {
  const state = readState<P>(dir, kind);
  const file = path.join(dir, TENSORS);
  if (!fs.existsSync(file)) throw new CheckpointError(dir, `${TENSORS} is missing`);
  const bytes = fs.readFileSync(file);
  if (createHash('sha256').update(bytes).digest('hex') !== state.sha256) throw new CheckpointError(dir, `${TENSORS} does not match its checksum`);
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const tensors: Checkpoint<P>['tensors'] = {};
  for (const e of state.entries) {
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (e.offset + size > floats.length) throw new CheckpointError(dir, `${TENSORS} is too short`);
    (tensors[e.group] ??= {})[e.name] = tf.tensor(floats.subarray(e.offset, e.offset + size), e.shape);
  }
  return { kind: state.kind, progress: state.progress, rngState: state.rngState, optimizerSteps: state.optimizerSteps, options: state.options, tensors };
}

/** Copies a checkpoint's parameters and optimizer moments into a loop's live variables, then frees them. */
export function resumeInto<P>(c: Checkpoint<P>, dir: string, params: Variables, optimizer: AdamW): void {
  const saved = c.tensors.params ?? {};
  for (const [name, v] of Object.entries(params)) {
    const t = saved[name];
    if (!t) throw new CheckpointError(dir, `it has no weights for ${name} (a different model shape?)`);
    if (t.shape.join() !== v.shape.join()) throw new CheckpointError(dir, `${name} has shape [${t.shape}], the model needs [${v.shape}]`);
    v.assign(t);
  }
  optimizer.load(c.optimizerSteps, c.tensors['adam.m'] ?? {}, c.tensors['adam.v'] ?? {});
}

export function disposeCheckpoint<P>(c: Checkpoint<P>): void {
  for (const group of Object.values(c.tensors)) for (const t of Object.values(group)) t.dispose();
}

/** What an epoch-based training loop (supervised, multi-task) keeps across a checkpoint. */
export interface EpochProgress {
  /** Set by the final checkpoint: the weights are the best epoch's and there is nothing left to train. */
  finished?: boolean;
  epoch: number;
  step: number;
  seconds: number;
}

/**
 * Puts an epoch loop back where its checkpoint left it: weights and moments into the live variables, copies of
 * the other groups it kept (`best`: the best epoch's weights; `average`: the weight average), the random
 * generator, and the epoch to start from. Frees the checkpoint's tensors.
 */
export function resumeEpochLoop<P extends EpochProgress>(
  c: Checkpoint<P>,
  dir: string,
  params: Variables,
  optimizer: AdamW,
): { progress: P; rng: Rng; bestWeights?: Record<string, tf.Tensor>; average?: Record<string, tf.Tensor>; firstEpoch: number } {
  try {
    resumeInto(c, dir, params, optimizer);
    const bestWeights = c.tensors.best ? snapshot(c.tensors.best) : undefined;
    const average = c.tensors.average ? snapshot(c.tensors.average) : undefined;
    return { progress: c.progress, rng: new Rng(c.rngState), bestWeights, average, firstEpoch: c.progress.finished ? Infinity : c.progress.epoch + 1 };
  } finally {
    disposeCheckpoint(c);
  }
}

/** Writes an epoch loop's checkpoint (nothing without a directory), with extra tensor groups (`best`, `average`). */
export function saveEpochCheckpoint<P extends EpochProgress>(
  dir: string | undefined,
  kind: string,
  progress: P,
  rng: Rng,
  params: Variables,
  optimizer: AdamW,
  options: Record<string, unknown>,
  extra: Record<string, Readonly<Record<string, tf.Tensor>> | undefined> = {},
): void {
  if (!dir) return;
  const groups: Record<string, Record<string, tf.Tensor>> = {};
  for (const [name, group] of Object.entries(extra)) if (group) groups[name] = { ...group };
  saveCheckpoint(dir, { kind, progress, rngState: rng.state, optimizerSteps: optimizer.steps, options, tensors: trainingTensors(params, optimizer, groups) });
}
