/**
 * The one message module between the training panel webview (media/training.ts) and its host
 * (extension/training-view.ts), gitlens-style: every message is `{id, method, params}`; commands go from the
 * webview to the extension, notifications from the extension to the webview; `is(msg, Type)` narrows by method.
 * Types only come from server/protocol.ts (erased at build time), so the webview bundle holds none of it.
 */
import type { JobInfo, JobMetrics, JobParams, ModelSummary } from '../server/protocol';

export type { JobInfo, JobMetrics, JobParams, ModelSummary };

export class IpcCommandType<P> {
  readonly _p?: P;
  constructor(readonly method: `command/${string}`) {}
}

export class IpcNotificationType<P> {
  readonly _p?: P;
  constructor(readonly method: `notification/${string}`) {}
}

type IpcType<P> = IpcCommandType<P> | IpcNotificationType<P>;

export interface IpcMessage<P = unknown> {
  id: string;
  method: string;
  params: P;
}

export function is<P>(msg: unknown, type: IpcType<P>): msg is IpcMessage<P> {
  return typeof msg === 'object' && msg !== null && (msg as IpcMessage).method === type.method;
}

let counter = 0;
export function message<P>(type: IpcType<P>, params: P): IpcMessage<P> {
  return { id: `${type.method.startsWith('command/') ? 'w' : 'h'}${++counter}`, method: type.method, params };
}

// -----------------------------------------------------------------------------------------------------
// What the panel shows

export interface CorpusFolder {
  /** Absolute folder holding the corpora. */
  root: string;
  /** Where it comes from, for the picker: "workspace", "settings" or "default". */
  origin: string;
  corpora: string[];
}

export interface JobView extends JobInfo {
  /** Every metrics notification received for this job (capped), oldest first. */
  history: JobMetrics[];
}

export interface PanelState {
  folders: CorpusFolder[];
  jobs: JobView[];
  models: ModelSummary[];
  active?: ModelSummary;
  /** A finished job's model folder is listed too, under its job id. */
  jobModels: { jobId: string; path: string }[];
  serverState: 'loading' | 'ready' | 'error' | 'stopped';
  /** The `metabioner.workers` setting (0 = every core): the form's worker count until the user changes it. */
  workers: number;
}

// -----------------------------------------------------------------------------------------------------
// Webview → extension

/** The webview has loaded and wants the whole state. */
export const ReadyCommand = new IpcCommandType<Record<string, never>>('command/ready');
export const StartJobCommand = new IpcCommandType<JobParams>('command/startJob');
export const StopJobCommand = new IpcCommandType<{ id: string }>('command/stopJob');
export const ResumeJobCommand = new IpcCommandType<{ id: string }>('command/resumeJob');
export const UseModelCommand = new IpcCommandType<{ path: string }>('command/useModel');
export const ExportModelCommand = new IpcCommandType<{ path: string }>('command/exportModel');
export const RefreshCommand = new IpcCommandType<Record<string, never>>('command/refresh');

// -----------------------------------------------------------------------------------------------------
// Extension → webview

export const StateNotification = new IpcNotificationType<PanelState>('notification/state');
export const MetricsNotification = new IpcNotificationType<{ id: string; metrics: JobMetrics }>('notification/metrics');
export const JobNotification = new IpcNotificationType<JobInfo>('notification/job');
/** A request of the panel failed: shown in the panel (the extension also shows a notification). */
export const ErrorNotification = new IpcNotificationType<{ message: string }>('notification/error');

/** The training methods the panel offers, and the job each one starts. */
export const METHODS = [
  { id: 'supervised', label: 'Supervised' },
  { id: 'metabioner', label: 'MetaBioNER' },
  { id: 'metaner', label: 'MetaNER' },
  { id: 'maml', label: 'MAML' },
  { id: 'metabioner-nes', label: 'MetaBioNER-NEs' },
  { id: 'mtl-heads', label: 'MTL (heads)' },
  { id: 'mtl-hierarchical', label: 'MTL (hierarchical)' },
  { id: 'mtl-unified', label: 'MTL (unified)' },
] as const;
export type MethodId = (typeof METHODS)[number]['id'];

export const TARGET_DOMAINS = ['Disease', 'Drug/Chemical', 'Gene', 'Species'] as const;

export interface FormValues {
  root: string;
  corpora: string[];
  method: MethodId;
  target: string;
  k: number;
  iterations: number;
  tasksPerIteration: number;
  innerSteps: number;
  hidden: number;
  lr: number;
  seed: number;
  /** Worker threads of the job; 0 = every core. */
  workers: number;
}

export const DEFAULT_FORM: FormValues = {
  root: '',
  corpora: [],
  method: 'metabioner',
  target: 'Disease',
  k: 5,
  iterations: 100,
  tasksPerIteration: 4,
  innerSteps: 2,
  hidden: 64,
  lr: 0.002,
  seed: 1,
  workers: 0,
};

/** The job a form describes (pure, shared by the webview and the tests). */
export function jobParams(f: FormValues): JobParams {
  const corporaRoot = f.root || undefined;
  switch (f.method) {
    case 'supervised':
      return { kind: 'supervised', corpora: f.corpora, corporaRoot, epochs: f.iterations, lr: f.lr, hidden: f.hidden, seed: f.seed, workers: f.workers };
    case 'mtl-heads':
    case 'mtl-hierarchical':
    case 'mtl-unified':
      return { kind: 'multitask', corpora: f.corpora, corporaRoot, sharing: f.method.slice(4) as 'heads' | 'hierarchical' | 'unified', epochs: f.iterations, hidden: f.hidden, seed: f.seed, workers: f.workers };
    default:
      return {
        kind: 'meta',
        method: f.method,
        target: f.target,
        corporaRoot,
        k: f.k,
        iterations: f.iterations,
        tasksPerIteration: f.tasksPerIteration,
        innerSteps: f.innerSteps,
        hidden: f.hidden,
        seed: f.seed,
        workers: f.workers,
        checkpointEvery: Math.max(1, Math.min(10, Math.floor(f.iterations / 10))),
      };
  }
}
