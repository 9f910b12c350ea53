import * as tf from '@tensorflow/tfjs';
import type { Sentence } from '../data/types';
import { evaluateOnPool } from '../parallel/pool-eval';
import type { WordVectors } from '../model/features';
import { CONVENTION_VIEWS, ModelInfo } from '../model/ner-model';
import { DEFAULT_SHAPE, initDecoder, initEncoder, TaggerShape, toVariables } from '../model/tagger';
import { CharVocab, TagScheme, TagSet } from '../model/vocab';
import { checkpointOptions } from '../train/checkpoint';
import { OFF_WHEN_ABSENT, runEpochLoop, StoppedBy, TrainHooks } from '../train/epoch-loop';
import type { LabelledSentence } from '../train/labels';
import { AdamW, DEFAULT_ADAMW } from '../train/optimizer';
import { lengthBucketedBatches } from '../train/supervised';
import { Rng } from '../util/random';
import { MultiTaskModel, viewNames } from './mtl-model';
import { conventionName, globalName, Layout, sharedLayersFor, Sharing } from './sharing';
import { mappedTypes, mapSentenceTypes, TypeMap } from './type-map';

/** One corpus of a multi-task run, with the types it annotates. */
export interface MultiTaskCorpus {
  name: string;
  types: string[];
  train: Sentence[];
  devel: Sentence[];
}

export type Sampling = 'proportional' | 'uniform' | 'temperature';

export interface MultiTaskOptions {
  sharing: Sharing;
  /** Hierarchical sharing: shared layers / layers. */
  slicingRate: number;
  layers: number;
  hidden: number;
  /** How the CRF spells entities (corpora and predictions stay IOB2). */
  scheme: TagScheme;
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  clipNorm: number;
  warmup: number;
  dropout: number;
  /** Probability of zeroing a token's word vector in training (0 = none). */
  wordDropout: number;
  /** Decay of the weight average the model is evaluated and saved with (0: the last step's weights). */
  weightAverage: number;
  patience: number;
  seed: number;
  /** Which corpus the next batch comes from: in proportion to batch counts (mt-dnn), uniformly, or n^(1/T). */
  sampling: Sampling;
  temperature: number;
  /** Stop (keeping the best epoch) after this many minutes; 0 = no limit. */
  maxMinutes: number;
  /**
   * Unified only: the probability that a batch trains its corpus' own emission layer (its annotation
   * convention) instead of the generic one; devel is then scored in each corpus' convention. 0 = one emission
   * layer for all (the generic tagger only).
   */
  conventions: number;
}

export const DEFAULT_MULTITASK: MultiTaskOptions = {
  sharing: 'heads',
  slicingRate: 0.5,
  layers: 1,
  hidden: DEFAULT_SHAPE.hidden,
  scheme: 'iob2',
  epochs: 10,
  batchSize: 10,
  lr: 2e-3,
  weightDecay: 0.01,
  clipNorm: 5,
  warmup: 0.02,
  dropout: 0.5,
  wordDropout: 0,
  weightAverage: 0,
  patience: 3,
  seed: 1,
  sampling: 'proportional',
  temperature: 2,
  maxMinutes: 0,
  conventions: 0,
};

/** Where a run starts from: weights by multi-task (or single-model view) name, and their character vocabulary. */
export interface MultiTaskStart {
  params: Readonly<Record<string, tf.Tensor>>;
  /** Absent (a start from a checkpoint, which keeps none): built from the corpora, as the run that wrote it did. */
  chars?: CharVocab;
}

export interface MultiTaskResult {
  model: MultiTaskModel;
  bestEpoch: number;
  bestDevelF1: number;
  /** Devel F1 per corpus at the best epoch. */
  develF1: Record<string, number>;
  history: { epoch: number; loss: number; develF1: number; seconds: number }[];
  stoppedBy: StoppedBy;
  trainSeconds: number;
}

/** The corpora with the unified tagger's type renaming applied (types dropped by the map disappear). */
export function unifiedCorpora(corpora: readonly MultiTaskCorpus[], maps: Readonly<Record<string, TypeMap>>): MultiTaskCorpus[] {
  return corpora.map((c) => {
    const map = maps[c.name] ?? {};
    return { name: c.name, types: mappedTypes(c.types, map), train: c.train.map((s) => mapSentenceTypes(s, map)), devel: c.devel.map((s) => mapSentenceTypes(s, map)) };
  });
}

function layoutOf(o: MultiTaskOptions, corpora: readonly MultiTaskCorpus[]): Layout {
  const sharedLayers = o.sharing === 'hierarchical' ? sharedLayersFor(o.slicingRate, o.layers) : o.layers;
  if (o.conventions && o.sharing !== 'unified') throw new Error('per-corpus conventions need unified sharing');
  if (!(o.conventions >= 0 && o.conventions <= 1)) throw new Error(`conventions must be a probability in [0, 1], got ${o.conventions}`);
  return { sharing: o.sharing, corpora: corpora.map((c) => c.name), layers: o.layers, sharedLayers, conventions: o.conventions > 0 };
}

/**
 * Initial parameters of every corpus' view. A name found in `start` is copied from it: first under its
 * multi-task name, then (for private encoder layers) under its single-model view name, so that upper layers
 * of a hierarchical model start from the fully shared model's weights. Decoders are only copied under their
 * own multi-task name: a fine-tuning run gets a new head, as MT-BERT's fine-tune stage does.
 */
function initialValues(layout: Layout, shape: TaggerShape, tagSets: Record<string, TagSet>, rng: Rng, start?: MultiTaskStart): Record<string, tf.Tensor> {
  const values: Record<string, tf.Tensor> = {};
  for (const corpus of layout.corpora) {
    const fresh = { ...initEncoder(shape, rng), ...initDecoder(shape, tagSets[corpus].size, rng) };
    for (const [view, t] of Object.entries(fresh)) {
      const name = globalName(layout, corpus, view);
      if (values[name]) {
        t.dispose();
        continue;
      }
      const from = start?.params[name] ?? (view.startsWith('enc.') ? start?.params[view] : undefined);
      if (from && from.shape.join() !== t.shape.join()) throw new Error(`start weights ${name}: shape [${from.shape}], needed [${t.shape}]`);
      values[name] = from ? tf.clone(from) : t;
      if (from) t.dispose();
    }
  }
  // A convention starts as the generic emission layer (its own copy from `start` if it has one).
  if (layout.conventions) {
    for (const corpus of layout.corpora) {
      for (const view of CONVENTION_VIEWS) {
        const name = conventionName(layout, corpus, view);
        const from = start?.params[name] ?? values[view];
        if (from.shape.join() !== values[view].shape.join()) throw new Error(`start weights ${name}: shape [${from.shape}], needed [${values[view].shape}]`);
        values[name] = tf.clone(from);
      }
    }
  }
  return values;
}

/**
 * One epoch's mini-batches, each from a single corpus. `proportional` visits every batch of every corpus once
 * in random order (corpora drawn in proportion to their batch counts, as mt-dnn does); `uniform` and
 * `temperature` draw the corpus of each of the same number of steps with probability ∝ 1 or n^(1/T),
 * cycling through a corpus' batches (reshuffled) as often as it is drawn.
 */
export function planEpoch(items: readonly (readonly LabelledSentence[])[], o: Pick<MultiTaskOptions, 'batchSize' | 'sampling' | 'temperature'>, rng: Rng): { corpus: number; items: LabelledSentence[] }[] {
  const batches = items.map((list) => lengthBucketedBatches(list, (it) => it.sentence.tokens.length, o.batchSize, rng));
  const counts = batches.map((b) => b.length);
  const steps = counts.reduce((a, b) => a + b, 0);
  let order: number[];
  if (o.sampling === 'proportional') {
    order = rng.shuffle(counts.flatMap((n, c) => Array<number>(n).fill(c)));
  } else {
    const weights = counts.map((n) => (n === 0 ? 0 : o.sampling === 'uniform' ? 1 : Math.pow(n, 1 / o.temperature)));
    const total = weights.reduce((a, b) => a + b, 0);
    order = Array.from({ length: steps }, () => {
      let r = rng.next() * total;
      for (let c = 0; c < weights.length; c++) if (weights[c] > 0 && (r -= weights[c]) < 0) return c;
      return weights.length - 1 - [...weights].reverse().findIndex((w) => w > 0);
    });
  }
  const queues = batches.map((b) => [...b]);
  return order.map((c) => {
    if (queues[c].length === 0) queues[c] = rng.shuffle([...batches[c]]);
    return { corpus: c, items: queues[c].pop() as LabelledSentence[] };
  });
}

const CHECKPOINT_KIND = 'multitask';

/**
 * Multi-task training: every mini-batch comes from one corpus and updates only the shared parameters and that
 * corpus' private ones; early stopping on the mean devel F1 over corpora (each on its own types).
 */
export async function trainMultiTask(
  corpora: readonly MultiTaskCorpus[],
  words: WordVectors,
  info: Omit<ModelInfo, 'created' | 'hyper' | 'metrics'>,
  options: Partial<MultiTaskOptions> = {},
  hooks: TrainHooks = {},
  start?: MultiTaskStart,
): Promise<MultiTaskResult> {
  const resumed = checkpointOptions(hooks.checkpointDir, CHECKPOINT_KIND);
  const o: MultiTaskOptions = resumed ? { ...DEFAULT_MULTITASK, ...OFF_WHEN_ABSENT, conventions: 0, ...(resumed as Partial<MultiTaskOptions>) } : { ...DEFAULT_MULTITASK, ...options };
  if (corpora.length === 0) throw new Error('multi-task training needs at least one corpus');
  const rng = new Rng(o.seed);
  const layout = layoutOf(o, corpora);
  const unionTypes = [...new Set(corpora.flatMap((c) => c.types))];
  const tagSets: Record<string, TagSet> = Object.fromEntries(corpora.map((c) => [c.name, new TagSet(o.sharing === 'unified' ? unionTypes : c.types, o.scheme)]));
  const chars = start?.chars ?? CharVocab.build(corpora.flatMap((c) => c.train.flatMap((s) => s.tokens)), 2);
  const shape: TaggerShape = { ...DEFAULT_SHAPE, hidden: o.hidden, layers: o.layers, wordDim: words.dim, charVocabSize: chars.size, numTags: tagSets[corpora[0].name].size, numDomains: 0 };
  const params = toVariables(initialValues(layout, shape, tagSets, rng, start));
  const model = new MultiTaskModel(layout, shape, tagSets, chars, words, params, { ...info, created: new Date().toISOString(), hyper: { ...o, sharedLayers: layout.sharedLayers } });
  const optimizer = new AdamW(params, { ...DEFAULT_ADAMW, weightDecay: o.weightDecay, clipNorm: o.clipNorm });
  // Each corpus' batches read the shared and its own private parameters under the single-tagger names.
  const views = Object.fromEntries(corpora.map((c) => [c.name, viewNames(shape).map((v): [string, string] => [v, globalName(layout, c.name, v)])]));
  const conventionViews = layout.conventions ? Object.fromEntries(corpora.map((c) => [c.name, model.conventionView(c.name)])) : undefined;
  // The view a batch of corpus c trains: with conventions, its own emission layer with probability o.conventions.
  const viewFor = (c: string, r: Rng): [string, string][] => (conventionViews && r.next() < o.conventions ? conventionViews[c] : views[c]);
  const items = corpora.map((c) => c.train.map((sentence): LabelledSentence => ({ sentence, annotatedTypes: c.types, corpus: c.name })));
  const stepsPerEpoch = items.reduce((n, list) => n + Math.ceil(list.length / o.batchSize), 0);
  const { best, history, stoppedBy, trainSeconds } = await runEpochLoop({
    kind: CHECKPOINT_KIND,
    options: o as MultiTaskOptions & Record<string, unknown>,
    params,
    shape,
    featurizer: model.featurizer,
    optimizer,
    rng,
    stepsPerEpoch,
    plan: (r) => planEpoch(items, o, r).map(({ corpus, items: batch }) => ({ items: batch, tagSet: tagSets[corpora[corpus].name], view: viewFor(corpora[corpus].name, r) })),
    evaluate: async (pool) => {
      const perCorpus: Record<string, number> = {};
      for (const c of corpora) perCorpus[c.name] = (await evaluateOnPool(pool, model.modelFor(c.name, conventionViews !== undefined), conventionViews?.[c.name] ?? views[c.name], c.devel, c.types)).f1;
      return { f1: Object.values(perCorpus).reduce((a, b) => a + b, 0) / corpora.length, perCorpus };
    },
    hooks,
  });
  model.info.metrics = { bestEpoch: best.epoch, develF1: best.f1, develF1PerCorpus: best.perCorpus, trainSeconds, stoppedBy };
  return { model, bestEpoch: best.epoch, bestDevelF1: best.f1, develF1: best.perCorpus, history, stoppedBy, trainSeconds };
}
