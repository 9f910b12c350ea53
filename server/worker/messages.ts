/**
 * Messages between the server's main thread and its worker threads (internal to server/; the extension never
 * sees them). A worker runs one task, given as its workerData, and ends.
 */
import type { HardnessParams, HardnessResult, JobMetrics, JobParams, Settings } from '../protocol';

export interface SupportSentence {
  tokens: string[];
  tags: string[];
}

export interface AdaptTask {
  kind: 'adapt';
  modelDir: string;
  /** The annotation convention the editor tags in: the adapted model starts from what the user sees. */
  convention?: string;
  support: SupportSentence[];
  epochs: number;
  lr: number;
  outDir: string;
}

export interface HardnessTask {
  kind: 'hardness';
  modelDir: string;
  convention?: string;
  corporaRoot: string;
  params: HardnessParams;
}

export interface JobTask {
  kind: 'job';
  params: JobParams;
  /** Model whose word vectors the job trains with. */
  wordsFrom: string;
  jobDir: string;
  /** The `workers` setting (0 = every core), for a job whose parameters give no worker count. */
  workers: number;
  /** Test hook (set only by tests that build a JobManager themselves): crash the worker on purpose. */
  fault?: JobFault;
}

/** A fault a test injects into a job's worker: an uncaught error after `crashAfterMetrics` metrics. */
export interface JobFault {
  crashAfterMetrics: number;
}

export type WorkerTask = (AdaptTask | HardnessTask | JobTask) & { backend: Settings['backend'] };

export interface AdaptOutput {
  dir: string;
  name: string;
  types: string[];
}

export interface JobOutput {
  modelPath?: string;
  cancelled: boolean;
}

export type WorkerOutput = AdaptOutput | HardnessResult | JobOutput;

/** Main thread → worker. */
export type ToWorker = { type: 'stop' };

/** Worker → main thread. */
export type FromWorker =
  | { type: 'progress'; message: string; percentage?: number }
  | { type: 'metrics'; metrics: JobMetrics }
  | { type: 'done'; output: WorkerOutput }
  | { type: 'failed'; message: string };
