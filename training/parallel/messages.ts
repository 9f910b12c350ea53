/**
 * Messages between a training loop (main thread) and the compute workers of its pool. Weights and gradients do
 * not travel in messages: they live in shared buffers (see compute-pool.ts); messages carry batches and say
 * which parameters changed.
 */
import type { BackendChoice } from '../engine/backend';
import type { MetaTask } from '../meta/fomaml';
import type { Batch } from '../model/features';
import type { TaggerShape } from '../model/tagger';
import type { ParamLayout } from './param-layout';
import type { ShardJob } from './shard-step';

export interface WorkerInit {
  index: number;
  backend: Exclude<BackendChoice, 'auto'>;
  shape: TaggerShape;
  layout: ParamLayout;
  /** Float32 weights, written by the main thread after each update. */
  params: SharedArrayBuffer;
  /** Float32 gradients: this worker's region starts at `gradOffset` floats (one layout per task it computes). */
  grads: SharedArrayBuffer;
  gradOffset: number;
}

export interface InnerLoopSettings {
  innerSteps: number;
  innerLr: number;
  dropout: number;
  lambda: number;
}

export type ToComputeWorker =
  | {
      type: 'grads';
      id: number;
      /** Parameters whose shared values changed since this worker last read them. */
      dirty: string[];
      job: ShardJob;
    }
  | {
      type: 'meta';
      id: number;
      dirty: string[];
      tasks: MetaTask[];
      seeds: number[];
      /** The parameters the inner loop adapts and the meta-gradient covers. */
      wrt: string[];
      settings: InnerLoopSettings;
    }
  | {
      type: 'decode';
      id: number;
      dirty: string[];
      batches: Batch[];
      view: [string, string][];
    }
  | { type: 'memory'; id: number };

export type FromComputeWorker =
  | { type: 'ready' }
  | { type: 'grads'; id: number; loss: number; names: string[] }
  | { type: 'meta'; id: number; results: { labelLoss: number; criticLoss: number; names: string[] }[] }
  | { type: 'decode'; id: number; paths: number[][][] }
  | { type: 'memory'; id: number; numTensors: number; rssBytes: number }
  | { type: 'failed'; id: number; message: string };
