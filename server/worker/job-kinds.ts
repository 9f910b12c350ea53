import * as path from 'node:path';
import { listCorpora, loadSplit } from '../../training/data/corpora';
import { META_METHODS, metaTrain } from '../../training/meta/meta-train';
import { DOMAINS, metaTrainingCorpora } from '../../training/meta/tasks';
import type { WordVectors } from '../../training/model/features';
import type { NerModel } from '../../training/model/ner-model';
import { trainSupervised } from '../../training/train/supervised';
import { loadCorpora, trainingDataOf } from '../../training/train/training-data';
import { MultiTaskModel } from '../../training/multitask/mtl-model';
import { runMultiTaskPipeline } from '../../training/multitask/pipeline';
import { SHARINGS } from '../../training/multitask/sharing';
import { saveModel } from '../../training/model/model-io';
import { resolveWorkers } from '../../training/parallel/worker-entry';
import type { JobKind, JobMetrics, JobParams, MetaJobParams, MultitaskJobParams, SupervisedJobParams } from '../protocol';

export interface JobContext {
  words: WordVectors;
  corporaRoot: string;
  /** The `workers` setting (0 = every core): the worker count of a job whose parameters give none. */
  workers: number;
  /** The job's checkpoint folder: the loop resumes from it when it holds a checkpoint. */
  checkpointDir: string;
  signal: AbortSignal;
  report(metrics: JobMetrics): void;
}

export interface JobRun {
  cancelled: boolean;
  /** Writes the trained model (a model directory, or a folder of them for multi-head training). */
  save(dir: string): void;
  dispose(): void;
}

const runOf = (model: NerModel | MultiTaskModel, cancelled: boolean): JobRun => ({
  cancelled,
  save: (dir) => (model instanceof MultiTaskModel ? model.save(dir) : saveModel(model, dir)),
  dispose: () => model.dispose(),
});

export interface JobKindSpec<P extends JobParams = JobParams> {
  /** Throws a clear error for unusable parameters, before a worker is started. */
  validate(params: P): void;
  run(params: P, ctx: JobContext): Promise<JobRun>;
}

/** A job's `workers` parameter, when given: a whole number ≥ 0 (0 = every core). */
function validateWorkers(p: JobParams): void {
  if (p.workers !== undefined && !(Number.isInteger(p.workers) && p.workers >= 0)) {
    throw new Error(`"workers" must be a whole number ≥ 0 (0 = every core), not ${JSON.stringify(p.workers)}`);
  }
}

/** The worker count a job trains with (the training loop's `hooks.workers`): the job's own, else the setting; 0 means every core. */
export function workerCount(p: JobParams, ctx: Pick<JobContext, 'workers'>): number {
  return resolveWorkers(p.workers ?? ctx.workers);
}

/** Drops undefined entries, so that the library's defaults apply. */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const supervised: JobKindSpec<SupervisedJobParams> = {
  validate(p) {
    if (!Array.isArray(p.corpora) || p.corpora.length === 0) throw new Error('a supervised job needs "corpora": the corpus folders to train on');
    validateWorkers(p);
  },
  async run(p, ctx) {
    const corpora = loadCorpora(ctx.corporaRoot, p.corpora);
    if (p.maxTrainSentences) for (const c of corpora) c.train = c.train.slice(0, p.maxTrainSentences);
    const result = await trainSupervised(
      trainingDataOf(corpora),
      ctx.words,
      { name: p.corpora.join('+'), trainedOn: p.corpora.map((c) => `${c}/train`), command: `language server job ${JSON.stringify(p)}` },
      defined({ epochs: p.epochs, batchSize: p.batchSize, lr: p.lr, hidden: p.hidden, patience: p.patience, seed: p.seed }),
      {
        workers: workerCount(p, ctx),
        signal: ctx.signal,
        checkpointDir: ctx.checkpointDir,
        checkpointEvery: p.checkpointEvery ?? 1,
        onProgress: (q) => {
          if (q.phase === 'done') return;
          ctx.report({ step: q.step, total: q.totalSteps, epoch: q.epoch, loss: q.loss, develF1: q.develF1, elapsedSeconds: q.elapsedSeconds });
        },
      },
    );
    return runOf(result.model, result.stoppedBy === 'cancelled');
  },
};

const meta: JobKindSpec<MetaJobParams> = {
  validate(p) {
    if (!META_METHODS.includes(p.method)) throw new Error(`unknown meta-learning method "${p.method}"; one of ${META_METHODS.join(', ')}`);
    if (!Object.hasOwn(DOMAINS, p.target)) throw new Error(`unknown target domain "${p.target}"; one of ${Object.keys(DOMAINS).join(', ')}`);
    validateWorkers(p);
  },
  async run(p, ctx) {
    const sources = metaTrainingCorpora(p.target, listCorpora(ctx.corporaRoot));
    if (sources.length === 0) throw new Error(`no source corpora for target ${p.target} in ${ctx.corporaRoot}`);
    const corpora = Object.fromEntries(sources.map((c) => [c, loadSplit(ctx.corporaRoot, c, 'train')]));
    const r = await metaTrain(
      corpora,
      ctx.words,
      defined({ method: p.method, k: p.k, iterations: p.iterations, tasksPerIteration: p.tasksPerIteration, innerSteps: p.innerSteps, hidden: p.hidden, seed: p.seed }),
      {
        workers: workerCount(p, ctx),
        signal: ctx.signal,
        checkpointDir: ctx.checkpointDir,
        checkpointEvery: p.checkpointEvery ?? 10,
        onIteration: (record, q) => {
          const loss = record.tasks.reduce((a, t) => a + t.labelLoss, 0) / Math.max(1, record.tasks.length);
          const hardness = record.tasks.map((t, i) => ({ corpus: t.corpus, loss: t.labelLoss, gamma: record.weights.theta[i] }));
          ctx.report({ step: q.iteration, total: q.iterations, loss, hardness, elapsedSeconds: q.elapsedSeconds });
        },
      },
    );
    return runOf(r.model, r.cancelled);
  },
};

const multitask: JobKindSpec<MultitaskJobParams> = {
  validate(p) {
    if (!Array.isArray(p.corpora) || p.corpora.length < 2) throw new Error('a multi-task job needs "corpora": at least two corpus folders');
    if (p.sharing !== undefined && !SHARINGS.includes(p.sharing)) throw new Error(`unknown sharing "${p.sharing}"; one of ${SHARINGS.join(', ')}`);
    validateWorkers(p);
  },
  async run(p, ctx) {
    const corpora = loadCorpora(ctx.corporaRoot, p.corpora);
    if (p.maxTrainSentences) for (const c of corpora) c.train = c.train.slice(0, p.maxTrainSentences);
    const r = await runMultiTaskPipeline(
      corpora,
      ctx.words,
      { name: `multitask-${p.corpora.join('+')}`, trainedOn: p.corpora.map((c) => `${c}/train`), command: `language server job ${JSON.stringify(p)}` },
      defined({ sharing: p.sharing, sampling: p.sampling, slicingRate: p.slicingRate, epochs: p.epochs, hidden: p.hidden, seed: p.seed }),
      {
        workers: workerCount(p, ctx),
        signal: ctx.signal,
        checkpointDir: ctx.checkpointDir,
        checkpointEvery: p.checkpointEvery ?? 1,
        onProgress: (stage, q) => {
          if (q.phase === 'done') return;
          ctx.report({ stage, step: q.step, total: q.totalSteps, epoch: q.epoch, loss: q.loss, develF1: q.develF1, elapsedSeconds: q.elapsedSeconds });
        },
      },
    );
    for (const m of Object.values(r.fineTuned)) m.dispose();
    return runOf(r.model, ctx.signal.aborted || r.stages.some((s) => s.result.stoppedBy === 'cancelled'));
  },
};

/**
 * The kinds of training job the server runs. Adding one is one entry here and one member of `JobParams` in
 * the protocol.
 */
export const JOB_KINDS: Record<JobKind, JobKindSpec | undefined> = {
  supervised: supervised as JobKindSpec,
  meta: meta as JobKindSpec,
  multitask: multitask as JobKindSpec,
};

export function jobKind(kind: string): JobKindSpec {
  const spec = (JOB_KINDS as Record<string, JobKindSpec | undefined>)[kind];
  if (!spec) {
    const available = Object.entries(JOB_KINDS).filter(([, s]) => s).map(([k]) => k);
    throw new Error(`no "${kind}" training in this build; job kinds: ${available.join(', ')}`);
  }
  return spec;
}

export const jobModelDir = (jobDir: string): string => path.join(jobDir, 'model');
export const jobCheckpointDir = (jobDir: string): string => path.join(jobDir, 'checkpoint');
