/**
 * Every custom message between the MetaBioNER extension and its language server, in one place (the
 * vscode-eslint way: one namespace per message, a literal `method` and a typed `type`). Both sides import this
 * module; it imports nothing of `training/` or of the server, so the extension bundle stays small.
 *
 * Standard LSP covers the rest: documents are synchronised with textDocument/didOpen|didChange|didClose,
 * hover is textDocument/hover, malformed CoNLL lines and unusable documents are reported as diagnostics,
 * long requests take a `workDoneToken` and are cancelled with $/cancelRequest, settings are pulled with
 * workspace/configuration (section `metabioner`).
 */
import {
  NotificationType,
  Range,
  RequestType,
  RequestType0,
  TextDocumentIdentifier,
  WorkDoneProgressParams,
} from 'vscode-languageserver-protocol';

// ---------------------------------------------------------------------------------------------------------
// Settings: the `metabioner.*` configuration section as the server reads it.

export interface Settings {
  /** Model directory to load; empty: the last active model (adapted or chosen) else the shipped one. */
  modelPath: string;
  /** Numeric backend: auto, wasm, cpu, node, node-gpu. */
  backend: 'auto' | 'wasm' | 'cpu' | 'node' | 'node-gpu';
  /** Predictions below this confidence are not shown. */
  minConfidence: number;
  /** Quiet time after an edit before the document is re-tagged (ms). */
  debounceMs: number;
  /** Documents larger than this (MiB) are not tagged. */
  maxDocumentMiB: number;
  /** Folder of corpora (one folder per corpus with train/devel/test.tsv); empty: $METABIONER_CORPORA or ../shared/corpora. */
  corporaRoot: string;
  /** Passes over the support sentences when adapting on a selection. */
  adaptEpochs: number;
  /** Learning rate of the adaptation. */
  adaptLearningRate: number;
  /** Worker threads for training and tagging; 0 = every core. */
  workers: number;
  /**
   * Tag in this corpus' annotation convention when the active model has it (a unified model trained with
   * per-corpus conventions, e.g. the shipped one: "LINNAEUS"); empty: the model's generic layer.
   */
  convention: string;
}

export const DEFAULT_SETTINGS: Settings = {
  modelPath: '',
  backend: 'auto',
  minConfidence: 0.3,
  debounceMs: 200,
  maxDocumentMiB: 4,
  corporaRoot: '',
  adaptEpochs: 30,
  adaptLearningRate: 0.05,
  workers: 0,
  convention: '',
};

/**
 * How a client starts the server process: Node options and environment variables on top of its own. Without
 * them a long-lived server keeps memory it no longer uses: glibc (Linux) holds what worker threads and large
 * buffers freed in per-thread arenas and under a raised mmap threshold, and V8's young generation, once grown
 * to its 16 MiB semi-spaces, stays that size — ~100 MiB of the 250 MiB idle budget (docs/results/server.md).
 * Other platforms ignore the glibc variables.
 */
export const SERVER_LAUNCH = {
  execArgv: ['--max-semi-space-size=4'],
  env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '131072' },
} as const;

/** What the client may pass in `initializationOptions`. */
export interface InitializationOptions {
  /** Where adapted models, job folders and the model history live (the extension's global storage). */
  storageDir?: string;
  /** Settings to use when the client does not answer workspace/configuration. */
  settings?: Partial<Settings>;
}

// ---------------------------------------------------------------------------------------------------------
// Server status

export interface ModelSummary {
  name: string;
  types: string[];
  /** Directory it was loaded from. */
  path: string;
  /** Position in the model history (0: the model the server started with). */
  version: number;
}

export interface ServerStatus {
  state: 'loading' | 'ready' | 'error';
  model?: ModelSummary;
  /** Numeric backend in use, e.g. "wasm". */
  backend?: string;
  message?: string;
}

/** Server → client whenever the state changes; the client waits for `ready` (never a sleep). */
export namespace StatusNotification {
  export const method = 'metabioner/status' as const;
  export const type = new NotificationType<ServerStatus>(method);
}

/** The current status, for a client that connected after the last notification. */
export namespace StatusRequest {
  export const method = 'metabioner/getStatus' as const;
  export const type = new RequestType0<ServerStatus, void>(method);
}

/** Where the server's memory is, in bytes (for `bench:server` and for anyone wondering why it is large). */
export interface MemoryReport {
  /** Resident set size of the server process, all threads (its workers too), and its highest so far. */
  rss: number;
  peakRss: number;
  /** Anonymous (heaps, stacks, wasm memory) and file-backed (code, mapped files) resident memory; 0 off Linux. */
  anonymous: number;
  fileBacked: number;
  /** V8 heap of the main thread: in use and reserved. */
  heapUsed: number;
  heapTotal: number;
  /** Outside the V8 heap: C++ objects bound to JavaScript, including ArrayBuffers and the wasm heap. */
  external: number;
  arrayBuffers: number;
  /** The TensorFlow.js wasm heap of the main thread (grows to its peak and never shrinks); 0 on other backends. */
  wasmHeap: number;
  /** Live tensors of the main thread (the active model's weights). */
  tensors: number;
  /** The active model's word vectors (int8 rows and their scales). */
  wordVectors: number;
  /** Words with a cached float32 vector in the active model's featurizer. */
  featurizerCachedWords: number;
  /** Sentences whose predictions are cached. */
  sentenceCacheEntries: number;
  /** Worker threads running an adaptation, a hardness computation or a training job, each with its own V8 and wasm heaps (the tagging pool's threads not counted). */
  workers: number;
  /** Full garbage collections run so far once the server went quiet after work (they shrink the V8 heap). */
  idleCollections: number;
}

/** The server's memory now. */
export namespace MemoryRequest {
  export const method = 'metabioner/memory' as const;
  export const type = new RequestType0<MemoryReport, void>(method);
}

// ---------------------------------------------------------------------------------------------------------
// Entities

export interface Entity {
  range: Range;
  type: string;
  /** CRF probability of the span for predictions; 1 for annotations. */
  confidence: number;
  source: 'prediction' | 'annotation';
  /** The annotation's id (brat `T3`, or `line:<n>` for a CoNLL entity starting at line n). */
  id?: string;
}

export interface EntitiesParams {
  textDocument: TextDocumentIdentifier;
  /** Only entities of the sentences this range touches (the visible range); all of them when absent. */
  range?: Range;
}

export interface EntitiesResult {
  uri: string;
  /** Document version the entities belong to. */
  version: number;
  /** Name of the model that made the predictions. */
  model: string;
  entities: Entity[];
}

export namespace EntitiesRequest {
  export const method = 'metabioner/entities' as const;
  export const type = new RequestType<EntitiesParams, EntitiesResult, void>(method);
}

export interface PublishEntitiesParams extends EntitiesResult {
  /** False for a first answer covering only the visible ranges of a large document; the full one follows. */
  complete: boolean;
}

/** Server → client after a document opens or changes (debounced); an older version never follows a newer. */
export namespace PublishEntitiesNotification {
  export const method = 'metabioner/publishEntities' as const;
  export const type = new NotificationType<PublishEntitiesParams>(method);
}

export interface VisibleRangesParams {
  textDocument: TextDocumentIdentifier;
  ranges: Range[];
}

/** Client → server: what the editor shows, tagged first in large documents. */
export namespace VisibleRangesNotification {
  export const method = 'metabioner/visibleRanges' as const;
  export const type = new NotificationType<VisibleRangesParams>(method);
}

// ---------------------------------------------------------------------------------------------------------
// Annotations (brat standoff `.ann` beside .txt/.md; the tag column of CoNLL files)

export interface AnnotationResult {
  uri: string;
  /** The file that holds the labels (the .ann file, or the CoNLL document itself). */
  file: string;
  /** Annotations of the document after the change. */
  annotations: Entity[];
}

export interface AddAnnotationParams {
  textDocument: TextDocumentIdentifier;
  range: Range;
  type: string;
}

export namespace AddAnnotationRequest {
  export const method = 'metabioner/annotations/add' as const;
  export const type = new RequestType<AddAnnotationParams, AnnotationResult, void>(method);
}

export interface RemoveAnnotationParams {
  textDocument: TextDocumentIdentifier;
  /** The annotation's id, as in `Entity.id`. */
  id: string;
}

export namespace RemoveAnnotationRequest {
  export const method = 'metabioner/annotations/remove' as const;
  export const type = new RequestType<RemoveAnnotationParams, AnnotationResult, void>(method);
}

export interface PredictionParams {
  textDocument: TextDocumentIdentifier;
  /** The range of a predicted entity, as published. */
  range: Range;
}

/** A prediction becomes an annotation of its type. */
export namespace AcceptPredictionRequest {
  export const method = 'metabioner/annotations/accept' as const;
  export const type = new RequestType<PredictionParams, AnnotationResult, void>(method);
}

/** A prediction is hidden from now on (kept in the server's storage, not in the user's files). */
export namespace RejectPredictionRequest {
  export const method = 'metabioner/annotations/reject' as const;
  export const type = new RequestType<PredictionParams, AnnotationResult, void>(method);
}

// ---------------------------------------------------------------------------------------------------------
// Models: adaptation on a selection, history, undo

export interface AdaptParams extends WorkDoneProgressParams {
  textDocument: TextDocumentIdentifier;
  range: Range;
}

export interface AdaptResult {
  model: ModelSummary;
  /** Annotated sentences the model was adapted on. */
  sentences: number;
  seconds: number;
}

/** Few-shot adaptation on the annotated sentences of a selection; the result becomes the active model. */
export namespace AdaptRequest {
  export const method = 'metabioner/adapt' as const;
  export const type = new RequestType<AdaptParams, AdaptResult, void>(method);
}

export interface ModelsResult {
  active: ModelSummary;
  /** Every model of the history, oldest first. */
  history: ModelSummary[];
}

export namespace ModelsRequest {
  export const method = 'metabioner/models' as const;
  export const type = new RequestType0<ModelsResult, void>(method);
}

/** Back to the model that was active before the last change. */
export namespace UndoModelRequest {
  export const method = 'metabioner/undoModel' as const;
  export const type = new RequestType0<ModelSummary, void>(method);
}

export interface UseModelParams {
  /** A model directory (e.g. a finished job's `modelPath`). */
  path: string;
}

export namespace UseModelRequest {
  export const method = 'metabioner/useModel' as const;
  export const type = new RequestType<UseModelParams, ModelSummary, void>(method);
}

// ---------------------------------------------------------------------------------------------------------
// Task hardness

export interface HardnessParams extends WorkDoneProgressParams {
  /** Folder of corpora; default: the `corporaRoot` setting. */
  corporaRoot?: string;
  /** Corpora to draw tasks from; default: every corpus of the folder. */
  corpora?: string[];
  /** Sentences per support and per query set (default 5). */
  k?: number;
  /** Number of tasks (default 4). */
  tasks?: number;
  /** SGD steps on the support set before the query loss (default 3). */
  innerSteps?: number;
  seed?: number;
}

export interface TaskSentence {
  tokens: string[];
  /** Entities as token positions, end exclusive. */
  entities: { type: string; start: number; end: number }[];
}

export interface HardnessTask {
  corpus: string;
  domain: string;
  support: TaskSentence[];
  query: TaskSentence[];
  /** Query label loss after the inner steps on the support set. */
  labelLoss: number;
  /** Query critic (domain) loss, 0 when the model has no critic. */
  criticLoss: number;
  /** γ of the task per parameter group (MetaBioNER Eq. 2). */
  gamma: { theta: number; phi: number; omega: number };
}

export interface HardnessResult {
  model: string;
  /** The folder the tasks were drawn from (so that a client can open a sentence in its corpus file). */
  corporaRoot?: string;
  lambda: number;
  tasks: HardnessTask[];
}

export namespace HardnessRequest {
  export const method = 'metabioner/hardness' as const;
  export const type = new RequestType<HardnessParams, HardnessResult, void>(method);
}

export interface CorporaParams {
  /** Folder to list; default: the `corporaRoot` setting, else the server's default folder. */
  corporaRoot?: string;
}

export interface CorporaResult {
  /** The folder listed (absolute). */
  root: string;
  /** Its corpus folders (each with train.tsv, devel.tsv and test.tsv). */
  corpora: string[];
}

/** The corpora a training job or the hardness request can draw from. */
export namespace CorporaRequest {
  export const method = 'metabioner/corpora' as const;
  export const type = new RequestType<CorporaParams, CorporaResult, void>(method);
}

// ---------------------------------------------------------------------------------------------------------
// Training jobs (run in worker threads, checkpointed, resumable)

export type JobKind = 'supervised' | 'meta' | 'multitask';
export type MetaMethodName = 'metabioner' | 'metaner' | 'maml' | 'metabioner-nes';

export interface SupervisedJobParams {
  kind: 'supervised';
  corpora: string[];
  corporaRoot?: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  hidden?: number;
  patience?: number;
  seed?: number;
  /** Use only the first N train sentences of each corpus (0: all). */
  maxTrainSentences?: number;
  /** Checkpoint every N epochs (default 1). */
  checkpointEvery?: number;
  /** Worker threads (0: every core); default: the `workers` setting. */
  workers?: number;
}

export interface MetaJobParams {
  kind: 'meta';
  method: MetaMethodName;
  /** Held-out domain (Disease, Drug/Chemical, Gene, Species); its corpora never enter meta-training. */
  target: string;
  corporaRoot?: string;
  k?: number;
  iterations?: number;
  tasksPerIteration?: number;
  innerSteps?: number;
  hidden?: number;
  seed?: number;
  /** Checkpoint every N iterations (default 10). */
  checkpointEvery?: number;
  /** Worker threads (0: every core); default: the `workers` setting. */
  workers?: number;
}

/**
 * Multi-task training over several corpora (training/multitask): per-corpus heads on a shared encoder,
 * hierarchical sharing, or one unified tagger. A multi-head result is a folder with one model per corpus.
 */
export interface MultitaskJobParams {
  kind: 'multitask';
  corpora: string[];
  corporaRoot?: string;
  sharing?: 'heads' | 'hierarchical' | 'unified';
  sampling?: 'proportional' | 'uniform' | 'temperature';
  slicingRate?: number;
  epochs?: number;
  hidden?: number;
  seed?: number;
  maxTrainSentences?: number;
  /** Checkpoint every N epochs (default 1). */
  checkpointEvery?: number;
  /** Worker threads (0: every core); default: the `workers` setting. */
  workers?: number;
}

export type JobParams = SupervisedJobParams | MetaJobParams | MultitaskJobParams;

export interface JobMetrics {
  /** Iteration (meta) or step (supervised) counter, and its total. */
  step: number;
  total: number;
  epoch?: number;
  /** Multi-task training: the stage (multitask, hierarchical, unified, fine-tune:<corpus>). */
  stage?: string;
  loss: number;
  develF1?: number;
  /** Meta-training: each task of the iteration with its γ^θ. */
  hardness?: { corpus: string; loss: number; gamma: number }[];
  elapsedSeconds: number;
}

export interface JobInfo {
  id: string;
  kind: JobKind;
  params: JobParams;
  state: 'running' | 'stopping' | 'stopped' | 'finished' | 'failed';
  created: string;
  /** Last metrics received. */
  metrics?: JobMetrics;
  /** The trained model, once finished. */
  modelPath?: string;
  /** Why it failed (a worker crash, bad parameters). */
  error?: string;
  /** Whether a checkpoint exists to resume from. */
  resumable: boolean;
}

export namespace StartJobRequest {
  export const method = 'metabioner/jobs/start' as const;
  export const type = new RequestType<JobParams, JobInfo, void>(method);
}

export interface JobIdParams {
  id: string;
}

/** Asks a job to stop at its next step; it checkpoints first. Answers once the worker has stopped. */
export namespace StopJobRequest {
  export const method = 'metabioner/jobs/stop' as const;
  export const type = new RequestType<JobIdParams, JobInfo, void>(method);
}

/** Continues a stopped or failed job from its checkpoint. */
export namespace ResumeJobRequest {
  export const method = 'metabioner/jobs/resume' as const;
  export const type = new RequestType<JobIdParams, JobInfo, void>(method);
}

export namespace ListJobsRequest {
  export const method = 'metabioner/jobs/list' as const;
  export const type = new RequestType0<JobInfo[], void>(method);
}

export interface JobMetricsParams {
  id: string;
  metrics: JobMetrics;
}

export namespace JobMetricsNotification {
  export const method = 'metabioner/jobs/metrics' as const;
  export const type = new NotificationType<JobMetricsParams>(method);
}

/** Server → client when a job starts, stops, finishes or fails. */
export namespace JobStateNotification {
  export const method = 'metabioner/jobs/state' as const;
  export const type = new NotificationType<JobInfo>(method);
}
