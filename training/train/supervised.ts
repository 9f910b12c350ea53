import * as tf from '@tensorflow/tfjs';
import type { Sentence } from '../data/types';
import { evaluateModel } from '../eval/evaluate-model';
import type { WordVectors } from '../model/features';
import { disposeSnapshot, ModelInfo, NerModel, restore, snapshot } from '../model/ner-model';
import { DEFAULT_SHAPE, initParams, TaggerShape } from '../model/tagger';
import { CharVocab, TagSet } from '../model/vocab';
import { Rng } from '../util/random';
import { EpochProgress, hasCheckpoint, loadCheckpoint, resumeEpochLoop, saveEpochCheckpoint } from './checkpoint';
import { allowedMask, LabelledSentence } from './labels';
import { AdamW, DEFAULT_ADAMW, linearSchedule } from './optimizer';
import { supervisedStep } from './step';

export interface SupervisedOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  clipNorm: number;
  /** Fraction of all steps spent warming the learning rate up. */
  warmup: number;
  dropout: number;
  /** Stop after this many evaluations without a better devel F1. */
  patience: number;
  seed: number;
  hidden: number;
  layers: number;
  /** Stop (keeping the best model so far) after this many minutes; 0 = no limit. */
  maxMinutes: number;
}

export const DEFAULT_SUPERVISED: SupervisedOptions = {
  epochs: 15,
  batchSize: 10,
  lr: 2e-3,
  weightDecay: 0.01,
  clipNorm: 5,
  warmup: 0.02,
  dropout: 0.5,
  patience: 5,
  seed: 1,
  hidden: DEFAULT_SHAPE.hidden,
  layers: DEFAULT_SHAPE.layers,
  maxMinutes: 0,
};

export interface TrainingData {
  train: LabelledSentence[];
  /** Devel sentences per corpus, with the types each corpus annotates (evaluated disjointly). */
  devel: { corpus: string; types: string[]; sentences: Sentence[] }[];
}

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

export interface TrainResult {
  model: NerModel;
  bestEpoch: number;
  bestDevelF1: number;
  history: { epoch: number; loss: number; develF1: number; seconds: number }[];
  stoppedBy: 'epochs' | 'patience' | 'time' | 'cancelled';
  trainSeconds: number;
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
}

const CHECKPOINT_KIND = 'supervised';

interface SupervisedProgress extends EpochProgress {
  best: { epoch: number; f1: number };
  history: TrainResult['history'];
}

/** Mini-batches with sentences of similar length together (less padding), in random order. */
export function lengthBucketedBatches<T>(items: readonly T[], lengthOf: (x: T) => number, batchSize: number, rng: Rng): T[][] {
  const shuffled = rng.shuffle([...items]);
  const chunk = batchSize * 20;
  const batches: T[][] = [];
  for (let i = 0; i < shuffled.length; i += chunk) {
    const part = shuffled.slice(i, i + chunk).sort((a, b) => lengthOf(a) - lengthOf(b));
    for (let j = 0; j < part.length; j += batchSize) batches.push(part.slice(j, j + batchSize));
  }
  return rng.shuffle(batches);
}

/** Mean devel F1 over the corpora (each evaluated on its own types only). */
function develF1(model: NerModel, data: TrainingData): number {
  const scores = data.devel.map((d) => evaluateModel(model, d.sentences, d.types).f1);
  return scores.reduce((a, b) => a + b, 0) / Math.max(1, scores.length);
}

export function typesOf(items: readonly LabelledSentence[]): string[] {
  const set = new Set<string>();
  for (const it of items) for (const t of it.annotatedTypes) set.add(t);
  return [...set];
}

/**
 * Supervised BiLSTM-CNN-CRF training: AdamW, global-norm clipping, linear schedule, early stopping on the
 * devel F1, and the best epoch's weights kept. Yields to the event loop every step so a caller can cancel.
 */
export async function trainSupervised(
  data: TrainingData,
  words: WordVectors,
  info: Omit<ModelInfo, 'created' | 'hyper' | 'metrics'>,
  options: Partial<SupervisedOptions> = {},
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const resume = hasCheckpoint(hooks.checkpointDir) ? loadCheckpoint<SupervisedProgress>(hooks.checkpointDir, CHECKPOINT_KIND) : undefined;
  const opts: SupervisedOptions = resume ? { ...DEFAULT_SUPERVISED, ...(resume.options as Partial<SupervisedOptions>) } : { ...DEFAULT_SUPERVISED, ...options };
  let rng = new Rng(opts.seed);
  const types = typesOf(data.train);
  const tagSet = new TagSet(types);
  const chars = CharVocab.build(data.train.flatMap((it) => it.sentence.tokens), 2);
  const shape: TaggerShape = {
    ...DEFAULT_SHAPE,
    hidden: opts.hidden,
    layers: opts.layers,
    wordDim: words.dim,
    charVocabSize: chars.size,
    numTags: tagSet.size,
    numDomains: 0,
  };
  const params = initParams(shape, rng.seed());
  const model = new NerModel(shape, tagSet, chars, words, params, {
    ...info,
    created: new Date().toISOString(),
    hyper: { ...opts },
  });
  const optimizer = new AdamW(params, { ...DEFAULT_ADAMW, weightDecay: opts.weightDecay, clipNorm: opts.clipNorm });
  const stepsPerEpoch = Math.ceil(data.train.length / opts.batchSize);
  const totalSteps = stepsPerEpoch * opts.epochs;
  const warmupSteps = Math.round(totalSteps * opts.warmup);
  let started = Date.now();
  let history: TrainResult['history'] = [];
  let best = { epoch: 0, f1: -1 };
  let bestWeights: Record<string, tf.Tensor> | undefined;
  let stoppedBy: TrainResult['stoppedBy'] = 'epochs';
  let step = 0;
  let firstEpoch = 1;
  const elapsed = (): number => (Date.now() - started) / 1000;
  if (resume) {
    const r = resumeEpochLoop(resume, hooks.checkpointDir as string, params, optimizer);
    ({ rng, bestWeights, firstEpoch } = r);
    ({ step, best, history } = r.progress);
    started -= r.progress.seconds * 1000;
  }
  const checkpoint = (epoch: number, finished = false): void =>
    saveEpochCheckpoint<SupervisedProgress>(hooks.checkpointDir, CHECKPOINT_KIND, { finished, epoch, step, seconds: elapsed(), best, history }, rng, params, optimizer, { ...opts }, bestWeights);

  try {
    outer: for (let epoch = firstEpoch; epoch <= opts.epochs; epoch++) {
      const batches = lengthBucketedBatches(data.train, (it) => it.sentence.tokens.length, opts.batchSize, rng);
      let lossSum = 0;
      let tokens = 0;
      const epochStart = Date.now();
      for (const items of batches) {
        if (hooks.signal?.aborted) {
          stoppedBy = 'cancelled';
          break outer;
        }
        if (opts.maxMinutes > 0 && elapsed() > opts.maxMinutes * 60) {
          stoppedBy = 'time';
          break outer;
        }
        const batch = model.featurizer.batch(items.map((it) => it.sentence.tokens));
        const allowed = allowedMask(items, tagSet, batch);
        const lr = linearSchedule(opts.lr, step, totalSteps, warmupSteps);
        const loss = supervisedStep(params, shape, batch, allowed, optimizer, lr, opts.dropout, rng);
        step++;
        lossSum += loss * items.length;
        tokens += items.reduce((n, it) => n + it.sentence.tokens.length, 0);
        hooks.onProgress?.({
          epoch,
          epochs: opts.epochs,
          step,
          totalSteps,
          loss,
          tokensPerSecond: tokens / Math.max(1e-3, (Date.now() - epochStart) / 1000),
          elapsedSeconds: elapsed(),
          bestDevelF1: best.f1 >= 0 ? best.f1 : undefined,
          phase: 'train',
        });
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      hooks.onProgress?.({ epoch, epochs: opts.epochs, step, totalSteps, loss: lossSum / data.train.length, tokensPerSecond: 0, elapsedSeconds: elapsed(), phase: 'eval' });
      const f1 = develF1(model, data);
      history.push({ epoch, loss: lossSum / data.train.length, develF1: f1, seconds: elapsed() });
      if (f1 > best.f1) {
        best = { epoch, f1 };
        if (bestWeights) disposeSnapshot(bestWeights);
        bestWeights = snapshot(params);
      }
      hooks.onProgress?.({
        epoch,
        epochs: opts.epochs,
        step,
        totalSteps,
        loss: lossSum / data.train.length,
        tokensPerSecond: 0,
        elapsedSeconds: elapsed(),
        develF1: f1,
        bestDevelF1: best.f1,
        phase: 'eval',
      });
      if (epoch % (hooks.checkpointEvery ?? 1) === 0) checkpoint(epoch);
      if (epoch - best.epoch >= opts.patience) {
        stoppedBy = 'patience';
        break;
      }
    }
    if (bestWeights) restore(params, bestWeights);
    if (stoppedBy !== 'cancelled' && stoppedBy !== 'time') checkpoint(history.length ? history[history.length - 1].epoch : 0, true);
  } finally {
    if (bestWeights) disposeSnapshot(bestWeights);
    optimizer.dispose();
  }
  const trainSeconds = elapsed();
  model.info.metrics = { bestEpoch: best.epoch, develF1: best.f1, trainSeconds, stoppedBy };
  hooks.onProgress?.({ epoch: best.epoch, epochs: opts.epochs, step, totalSteps, loss: 0, tokensPerSecond: 0, elapsedSeconds: trainSeconds, bestDevelF1: best.f1, phase: 'done' });
  return { model, bestEpoch: best.epoch, bestDevelF1: best.f1, history, stoppedBy, trainSeconds };
}

