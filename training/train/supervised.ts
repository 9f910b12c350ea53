import type { Sentence } from '../data/types';
import type { WordVectors } from '../model/features';
import { ModelInfo, NerModel } from '../model/ner-model';
import { DEFAULT_SHAPE, initParams, TaggerShape } from '../model/tagger';
import { CharVocab, TagScheme, TagSet } from '../model/vocab';
import type { ComputePool } from '../parallel/compute-pool';
import { evaluateOnPool } from '../parallel/pool-eval';
import { identityView } from '../parallel/shard-step';
import { Rng } from '../util/random';
import { checkpointOptions } from './checkpoint';
import { OFF_WHEN_ABSENT, runEpochLoop, StoppedBy, TrainHooks } from './epoch-loop';
import type { LabelledSentence } from './labels';
import { AdamW, DEFAULT_ADAMW } from './optimizer';

export type { TrainHooks, TrainProgress } from './epoch-loop';

export interface SupervisedOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  clipNorm: number;
  /** Fraction of all steps spent warming the learning rate up. */
  warmup: number;
  dropout: number;
  /** Probability of zeroing a token's word vector in training (0 = none). */
  wordDropout: number;
  /** Decay of the weight average the model is evaluated and saved with (0: the last step's weights). */
  weightAverage: number;
  /** Stop after this many evaluations without a better devel F1. */
  patience: number;
  seed: number;
  hidden: number;
  /** How the CRF spells entities (corpora and predictions stay IOB2). */
  scheme: TagScheme;
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
  wordDropout: 0,
  weightAverage: 0,
  patience: 5,
  seed: 1,
  hidden: DEFAULT_SHAPE.hidden,
  scheme: 'iob2',
  layers: DEFAULT_SHAPE.layers,
  maxMinutes: 0,
};

export interface TrainingData {
  train: LabelledSentence[];
  /** Devel sentences per corpus, with the types each corpus annotates (evaluated disjointly). */
  devel: { corpus: string; types: string[]; sentences: Sentence[] }[];
}

export interface TrainResult {
  model: NerModel;
  bestEpoch: number;
  bestDevelF1: number;
  history: { epoch: number; loss: number; develF1: number; seconds: number }[];
  stoppedBy: StoppedBy;
  trainSeconds: number;
}

const CHECKPOINT_KIND = 'supervised';

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

/** Mean devel F1 over the corpora (each evaluated on its own types only), decoded on the pool's threads. */
async function develF1(pool: ComputePool, model: NerModel, view: [string, string][], data: TrainingData): Promise<number> {
  let sum = 0;
  for (const d of data.devel) sum += (await evaluateOnPool(pool, model, view, d.sentences, d.types)).f1;
  return sum / Math.max(1, data.devel.length);
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
  const resumed = checkpointOptions(hooks.checkpointDir, CHECKPOINT_KIND);
  const opts: SupervisedOptions = resumed ? { ...DEFAULT_SUPERVISED, ...OFF_WHEN_ABSENT, ...(resumed as Partial<SupervisedOptions>) } : { ...DEFAULT_SUPERVISED, ...options };
  const rng = new Rng(opts.seed);
  const types = typesOf(data.train);
  const tagSet = new TagSet(types, opts.scheme);
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
  const view = identityView(params);
  const r = await runEpochLoop({
    kind: CHECKPOINT_KIND,
    options: opts as SupervisedOptions & Record<string, unknown>,
    params,
    shape,
    featurizer: model.featurizer,
    optimizer,
    rng,
    stepsPerEpoch: Math.ceil(data.train.length / opts.batchSize),
    plan: (r) => lengthBucketedBatches(data.train, (it) => it.sentence.tokens.length, opts.batchSize, r).map((items) => ({ items, tagSet, view })),
    evaluate: async (pool) => ({ f1: await develF1(pool, model, view, data) }),
    hooks,
  });
  const { best, history, stoppedBy, trainSeconds } = r;
  model.info.metrics = { bestEpoch: best.epoch, develF1: best.f1, trainSeconds, stoppedBy };
  return { model, bestEpoch: best.epoch, bestDevelF1: best.f1, history, stoppedBy, trainSeconds };
}
