import type * as tf from '@tensorflow/tfjs';
import type { Featurizer } from '../model/features';
import { disposeSnapshot, restore, snapshot } from '../model/ner-model';
import type { TaggerShape, Variables } from '../model/tagger';
import type { TagScheme, TagSet } from '../model/vocab';
import { ComputePool } from '../parallel/compute-pool';
import { ShardJob, splitShards } from '../parallel/shard-step';
import { Rng } from '../util/random';
import { CheckpointError, EpochProgress, hasCheckpoint, loadCheckpoint, resumeEpochLoop, saveEpochCheckpoint } from './checkpoint';
import { allowedMask, LabelledSentence } from './labels';
import { AdamW, linearSchedule } from './optimizer';
import { disposeGrads } from './step';
import { WeightAverage } from './weight-average';

export interface TrainProgress {
  epoch: number;
  epochs: number;
  step: number;
  totalSteps: number;
  loss: number;
  tokensPerSecond: number;
  elapsedSeconds: number;
  /** Set after each devel evaluation. */
  develF1?: number;
  bestDevelF1?: number;
  phase: 'train' | 'eval' | 'done';
}

export interface TrainHooks {
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
  /**
   * Where to keep a checkpoint (after every `checkpointEvery` epochs, default 1, and when cancelled at an
   * epoch's end). When it already holds one, training resumes from it with the options it was started with.
   */
  checkpointDir?: string;
  checkpointEvery?: number;
  /**
   * Also keep a checkpoint inside an epoch once this many minutes have passed since the last one (0 or unset:
   * only at epoch ends, and when cancelled or out of time). An epoch over every corpus takes tens of minutes.
   */
  checkpointMinutes?: number;
  /**
   * Threads computing each mini-batch's gradients (data parallelism; default 1). The batch is split into this
   * many shards; the result does not depend on luck: the same seed, batch size and worker count give the same
   * weights bit for bit, and any worker count gives the same step up to float rounding (without dropout).
   * Not part of the options a checkpoint keeps: a run may resume with another worker count.
   */
  workers?: number;
}

/** What an epoch loop's options must say; the rest of its options ride along into checkpoints. */
export interface EpochLoopOptions {
  epochs: number;
  lr: number;
  warmup: number;
  dropout: number;
  /** Word dropout (see ShardJob); absent in checkpoints written before it existed = 0. */
  wordDropout?: number;
  /**
   * Decay of an exponential moving average of the weights (WeightAverage); devel evaluation, the best epoch
   * and the result use the averaged weights. 0 or absent (checkpoints written before it existed): none.
   */
  weightAverage?: number;
  patience: number;
  maxMinutes: number;
}

/**
 * Training options added after checkpoints already existed: a run resumed from a checkpoint that does not name
 * them ran without them (IOB2 tags), whatever today's defaults say.
 */
export const OFF_WHEN_ABSENT: Pick<Required<EpochLoopOptions>, 'wordDropout' | 'weightAverage'> & { scheme: TagScheme } = { wordDropout: 0, weightAverage: 0, scheme: 'iob2' };

/** One mini-batch: its sentences, the tag set their allowed-tag masks use, and the parameters the loss reads. */
export interface PlannedStep {
  items: LabelledSentence[];
  tagSet: TagSet;
  /** [view name, parameter name] pairs (see ShardJob). */
  view: [string, string][];
}

export interface EpochLoopSpec {
  /** Checkpoint kind (a checkpoint of another kind is refused on resume). */
  kind: string;
  options: EpochLoopOptions & Record<string, unknown>;
  /** Options as the checkpoint should keep them (default: `options`). */
  checkpointOptions?: Record<string, unknown>;
  params: Variables;
  shape: TaggerShape;
  featurizer: Featurizer;
  optimizer: AdamW;
  rng: Rng;
  stepsPerEpoch: number;
  /** The epoch's mini-batches, drawn from the loop's generator. */
  plan(rng: Rng): PlannedStep[];
  /** Mean devel F1 (and per corpus, if more than one); the pool's threads hold the current weights. */
  evaluate(pool: ComputePool): Promise<{ f1: number; perCorpus?: Record<string, number> }>;
  hooks: TrainHooks;
}

export type StoppedBy = 'epochs' | 'patience' | 'time' | 'cancelled';

export interface EpochLoopResult {
  best: { epoch: number; f1: number; perCorpus: Record<string, number> };
  history: { epoch: number; loss: number; develF1: number; seconds: number }[];
  stoppedBy: StoppedBy;
  trainSeconds: number;
  steps: number;
  totalSteps: number;
}

interface LoopProgress extends EpochProgress {
  best: EpochLoopResult['best'];
  history: EpochLoopResult['history'];
  /** A checkpoint inside epoch `epoch` + 1: how its batches were drawn and how far it got. */
  inEpoch?: { planRngState: number; stepsDone: number; lossSum: number; sentences: number };
  /** Updates folded into the weight average (with `weightAverage`). */
  averageSteps?: number;
}

/** The dropout seed of shard `i` of a step. */
function shardSeed(stepSeed: number, i: number): number {
  return i === 0 ? stepSeed : new Rng((stepSeed + Math.imul(i, 0x9e3779b9)) >>> 0).seed();
}

/**
 * The epoch loop of supervised and multi-task training: AdamW with a linear schedule, gradients of each
 * mini-batch computed on `hooks.workers` threads, a devel evaluation after every epoch with early stopping
 * (the best epoch's weights are kept and restored at the end), checkpoints and resume. Yields to the event
 * loop every step so a caller can cancel.
 */
export async function runEpochLoop(spec: EpochLoopSpec): Promise<EpochLoopResult> {
  const { options: o, params, optimizer, hooks } = spec;
  if (o.wordDropout !== undefined && !(o.wordDropout >= 0 && o.wordDropout < 1)) throw new Error(`word dropout must be in [0, 1), got ${o.wordDropout}`);
  const resume = hasCheckpoint(hooks.checkpointDir) ? loadCheckpoint<LoopProgress>(hooks.checkpointDir, spec.kind) : undefined;
  const totalSteps = spec.stepsPerEpoch * o.epochs;
  const warmupSteps = Math.round(totalSteps * o.warmup);
  let rng = spec.rng;
  let started = Date.now();
  let history: EpochLoopResult['history'] = [];
  let best: EpochLoopResult['best'] = { epoch: 0, f1: -1, perCorpus: {} };
  let bestWeights: Record<string, tf.Tensor> | undefined;
  let stoppedBy: StoppedBy = 'epochs';
  let step = 0;
  let firstEpoch = 1;
  let inEpoch: LoopProgress['inEpoch'];
  let average: WeightAverage | undefined;
  const elapsed = (): number => (Date.now() - started) / 1000;
  if (resume) {
    const r = resumeEpochLoop(resume, hooks.checkpointDir as string, params, optimizer);
    ({ rng, bestWeights, firstEpoch } = r);
    ({ step, best, history, inEpoch } = r.progress);
    best.perCorpus ??= {};
    started -= r.progress.seconds * 1000;
    if (o.weightAverage) {
      if (!r.average) throw new CheckpointError(hooks.checkpointDir as string, 'it has no weight average, but the run it continues keeps one');
      average = new WeightAverage(params, o.weightAverage, r.progress.averageSteps ?? 0, r.average);
    }
    if (r.average) disposeSnapshot(r.average);
  }
  if (o.weightAverage && !average) average = new WeightAverage(params, o.weightAverage);
  let lastCheckpoint = Date.now();
  const checkpoint = (epoch: number, finished = false, within?: LoopProgress['inEpoch']): void => {
    saveEpochCheckpoint<LoopProgress>(hooks.checkpointDir, spec.kind, { finished, epoch, step, seconds: elapsed(), best, history, inEpoch: within, averageSteps: average?.steps }, rng, params, optimizer, { ...(spec.checkpointOptions ?? o) }, { best: bestWeights, average: average?.tensors() });
    lastCheckpoint = Date.now();
  };
  const report = (p: Omit<TrainProgress, 'epochs' | 'totalSteps' | 'step'>) => hooks.onProgress?.({ ...p, epochs: o.epochs, totalSteps, step });

  let pool: ComputePool | undefined;
  try {
    pool = await ComputePool.start({ workers: hooks.workers ?? 1, shape: spec.shape, vars: params });
    outer: for (let epoch = firstEpoch; epoch <= o.epochs; epoch++) {
      // A run resumed inside this epoch draws its batches again from the state they were drawn from, and skips
      // those it has trained on; the main generator continues from its checkpointed state.
      const planRngState = inEpoch ? inEpoch.planRngState : rng.state;
      const plan = inEpoch ? spec.plan(new Rng(inEpoch.planRngState)) : spec.plan(rng);
      const skip = inEpoch?.stepsDone ?? 0;
      let lossSum = inEpoch?.lossSum ?? 0;
      let sentences = inEpoch?.sentences ?? 0;
      inEpoch = undefined;
      let tokens = 0;
      const epochStart = Date.now();
      const saveWithin = (stepsDone: number) => checkpoint(epoch - 1, false, { planRngState, stepsDone, lossSum, sentences });
      for (let k = skip; k < plan.length; k++) {
        const planned = plan[k];
        if (hooks.signal?.aborted || (o.maxMinutes > 0 && elapsed() > o.maxMinutes * 60)) {
          stoppedBy = hooks.signal?.aborted ? 'cancelled' : 'time';
          saveWithin(k);
          break outer;
        }
        if (hooks.checkpointMinutes && hooks.checkpointDir && Date.now() - lastCheckpoint > hooks.checkpointMinutes * 60_000) saveWithin(k);
        // One draw per step whatever the worker count, so that a run resumed with another count sees the same batches.
        const stepSeed = rng.seed();
        const jobs: ShardJob[] = splitShards(planned.items, pool.workers).map((shard, i) => {
          const batch = spec.featurizer.batch(shard.map((it) => it.sentence.tokens));
          return { batch, allowed: allowedMask(shard, planned.tagSet, batch), dropout: o.dropout, wordDropout: o.wordDropout ?? 0, seed: shardSeed(stepSeed, i), view: planned.view };
        });
        const { loss, grads } = await pool.gradients(jobs);
        try {
          optimizer.apply(grads, linearSchedule(o.lr, step, totalSteps, warmupSteps));
          pool.publish(Object.keys(grads));
          average?.update(Object.keys(grads));
        } finally {
          disposeGrads(grads);
        }
        step++;
        lossSum += loss * planned.items.length;
        sentences += planned.items.length;
        tokens += planned.items.reduce((n, it) => n + it.sentence.tokens.length, 0);
        report({ epoch, loss, tokensPerSecond: tokens / Math.max(1e-3, (Date.now() - epochStart) / 1000), elapsedSeconds: elapsed(), bestDevelF1: best.f1 >= 0 ? best.f1 : undefined, phase: 'train' });
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const meanLoss = lossSum / Math.max(1, sentences);
      report({ epoch, loss: meanLoss, tokensPerSecond: 0, elapsedSeconds: elapsed(), phase: 'eval' });
      const evaluated = pool;
      const evaluation = async () => {
        const r = await spec.evaluate(evaluated);
        // Snapshot now: with a weight average, the parameters hold the averaged weights only during `evaluate`.
        const better = r.f1 > best.f1 ? snapshot(params) : undefined;
        return { ...r, better };
      };
      const { f1, perCorpus = {}, better } = average ? await average.withAveraged(evaluation, (names) => evaluated.publish(names)) : await evaluation();
      history.push({ epoch, loss: meanLoss, develF1: f1, seconds: elapsed() });
      if (better) {
        best = { epoch, f1, perCorpus };
        if (bestWeights) disposeSnapshot(bestWeights);
        bestWeights = better;
      }
      report({ epoch, loss: meanLoss, tokensPerSecond: 0, elapsedSeconds: elapsed(), develF1: f1, bestDevelF1: best.f1, phase: 'eval' });
      if (epoch % (hooks.checkpointEvery ?? 1) === 0) checkpoint(epoch);
      if (epoch - best.epoch >= o.patience) {
        stoppedBy = 'patience';
        break;
      }
    }
    if (bestWeights) restore(params, bestWeights);
    if (stoppedBy !== 'cancelled' && stoppedBy !== 'time') checkpoint(history.length ? history[history.length - 1].epoch : 0, true);
  } finally {
    pool?.close();
    if (bestWeights) disposeSnapshot(bestWeights);
    average?.dispose();
    optimizer.dispose();
  }
  const trainSeconds = elapsed();
  report({ epoch: best.epoch, loss: 0, tokensPerSecond: 0, elapsedSeconds: trainSeconds, bestDevelF1: best.f1, phase: 'done' });
  return { best, history, stoppedBy, trainSeconds, steps: step, totalSteps };
}
