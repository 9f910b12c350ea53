import * as tf from '@tensorflow/tfjs';
import type { Sentence } from '../data/types';
import { evaluateModel } from '../eval/evaluate-model';
import type { WordVectors } from '../model/features';
import { disposeSnapshot, ModelInfo, restore, snapshot } from '../model/ner-model';
import { DEFAULT_SHAPE, encode, initDecoder, initEncoder, labelLoss, TaggerShape, toVariables } from '../model/tagger';
import { CharVocab, TagSet } from '../model/vocab';
import { EpochProgress, hasCheckpoint, loadCheckpoint, resumeEpochLoop, saveEpochCheckpoint } from '../train/checkpoint';
import { allowedMask, LabelledSentence } from '../train/labels';
import { AdamW, DEFAULT_ADAMW, linearSchedule } from '../train/optimizer';
import { disposeGrads, lossAndGrads } from '../train/step';
import { lengthBucketedBatches, TrainHooks, TrainProgress } from '../train/supervised';
import { Rng } from '../util/random';
import { MultiTaskModel, viewNames } from './mtl-model';
import { globalName, Layout, sharedLayersFor, Sharing, viewOf } from './sharing';
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
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  clipNorm: number;
  warmup: number;
  dropout: number;
  patience: number;
  seed: number;
  /** Which corpus the next batch comes from: in proportion to batch counts (mt-dnn), uniformly, or n^(1/T). */
  sampling: Sampling;
  temperature: number;
  /** Stop (keeping the best epoch) after this many minutes; 0 = no limit. */
  maxMinutes: number;
}

export const DEFAULT_MULTITASK: MultiTaskOptions = {
  sharing: 'heads',
  slicingRate: 0.5,
  layers: 1,
  hidden: DEFAULT_SHAPE.hidden,
  epochs: 10,
  batchSize: 10,
  lr: 2e-3,
  weightDecay: 0.01,
  clipNorm: 5,
  warmup: 0.02,
  dropout: 0.5,
  patience: 3,
  seed: 1,
  sampling: 'proportional',
  temperature: 2,
  maxMinutes: 0,
};

/** Where a run starts from: weights by multi-task (or single-model view) name, and their character vocabulary. */
export interface MultiTaskStart {
  params: Readonly<Record<string, tf.Tensor>>;
  chars: CharVocab;
}

export interface MultiTaskResult {
  model: MultiTaskModel;
  bestEpoch: number;
  bestDevelF1: number;
  /** Devel F1 per corpus at the best epoch. */
  develF1: Record<string, number>;
  history: { epoch: number; loss: number; develF1: number; seconds: number }[];
  stoppedBy: 'epochs' | 'patience' | 'time' | 'cancelled';
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
  return { sharing: o.sharing, corpora: corpora.map((c) => c.name), layers: o.layers, sharedLayers };
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

interface Progress extends EpochProgress {
  best: { epoch: number; f1: number; perCorpus: Record<string, number> };
  history: MultiTaskResult['history'];
}

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
  const resume = hasCheckpoint(hooks.checkpointDir) ? loadCheckpoint<Progress>(hooks.checkpointDir, CHECKPOINT_KIND) : undefined;
  const o: MultiTaskOptions = resume ? { ...DEFAULT_MULTITASK, ...(resume.options as Partial<MultiTaskOptions>) } : { ...DEFAULT_MULTITASK, ...options };
  if (corpora.length === 0) throw new Error('multi-task training needs at least one corpus');
  let rng = new Rng(o.seed);
  const layout = layoutOf(o, corpora);
  const unionTypes = [...new Set(corpora.flatMap((c) => c.types))];
  const tagSets: Record<string, TagSet> = Object.fromEntries(corpora.map((c) => [c.name, new TagSet(o.sharing === 'unified' ? unionTypes : c.types)]));
  const chars = start?.chars ?? CharVocab.build(corpora.flatMap((c) => c.train.flatMap((s) => s.tokens)), 2);
  const shape: TaggerShape = { ...DEFAULT_SHAPE, hidden: o.hidden, layers: o.layers, wordDim: words.dim, charVocabSize: chars.size, numTags: tagSets[corpora[0].name].size, numDomains: 0 };
  const params = toVariables(initialValues(layout, shape, tagSets, rng, start));
  const model = new MultiTaskModel(layout, shape, tagSets, chars, words, params, { ...info, created: new Date().toISOString(), hyper: { ...o, sharedLayers: layout.sharedLayers } });
  const optimizer = new AdamW(params, { ...DEFAULT_ADAMW, weightDecay: o.weightDecay, clipNorm: o.clipNorm });
  const views = Object.fromEntries(corpora.map((c) => [c.name, viewOf(params, layout, c.name, viewNames(shape))]));
  const items = corpora.map((c) => c.train.map((sentence): LabelledSentence => ({ sentence, annotatedTypes: c.types, corpus: c.name })));
  const counts = items.map((list) => Math.ceil(list.length / o.batchSize));
  const stepsPerEpoch = counts.reduce((a, b) => a + b, 0);
  const totalSteps = stepsPerEpoch * o.epochs;
  const warmupSteps = Math.round(totalSteps * o.warmup);

  let started = Date.now();
  let history: MultiTaskResult['history'] = [];
  let best: Progress['best'] = { epoch: 0, f1: -1, perCorpus: {} };
  let bestWeights: Record<string, tf.Tensor> | undefined;
  let stoppedBy: MultiTaskResult['stoppedBy'] = 'epochs';
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
    saveEpochCheckpoint<Progress>(hooks.checkpointDir, CHECKPOINT_KIND, { finished, epoch, step, seconds: elapsed(), best, history }, rng, params, optimizer, { ...o }, bestWeights);
  const report = (p: Omit<TrainProgress, 'epochs' | 'totalSteps' | 'step'>) => hooks.onProgress?.({ ...p, epochs: o.epochs, totalSteps, step });

  try {
    outer: for (let epoch = firstEpoch; epoch <= o.epochs; epoch++) {
      let lossSum = 0;
      let tokens = 0;
      const epochStart = Date.now();
      for (const { corpus: c, items: batchItems } of planEpoch(items, o, rng)) {
        if (hooks.signal?.aborted) {
          stoppedBy = 'cancelled';
          break outer;
        }
        if (o.maxMinutes > 0 && elapsed() > o.maxMinutes * 60) {
          stoppedBy = 'time';
          break outer;
        }
        const name = corpora[c].name;
        const view = views[name];
        const batch = model.featurizer.batch(batchItems.map((it) => it.sentence.tokens));
        const allowed = allowedMask(batchItems, tagSets[name], batch);
        const { loss, grads } = lossAndGrads(() => labelLoss(view, encode(view, shape, batch, { training: true, dropout: o.dropout, rng }), batch, allowed), view);
        // Gradients keyed by the corpus' view names become updates of the parameters they stand for.
        const byGlobal: Record<string, tf.Tensor> = {};
        for (const [v, g] of Object.entries(grads)) byGlobal[globalName(layout, name, v)] = g;
        optimizer.apply(byGlobal, linearSchedule(o.lr, step, totalSteps, warmupSteps));
        disposeGrads(grads);
        step++;
        lossSum += loss * batchItems.length;
        tokens += batchItems.reduce((n, it) => n + it.sentence.tokens.length, 0);
        report({ epoch, loss, tokensPerSecond: tokens / Math.max(1e-3, (Date.now() - epochStart) / 1000), elapsedSeconds: elapsed(), bestDevelF1: best.f1 >= 0 ? best.f1 : undefined, phase: 'train' });
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const trainCount = items.reduce((n, l) => n + l.length, 0);
      report({ epoch, loss: lossSum / trainCount, tokensPerSecond: 0, elapsedSeconds: elapsed(), phase: 'eval' });
      const perCorpus = Object.fromEntries(corpora.map((c) => [c.name, evaluateModel(model.modelFor(c.name), c.devel, c.types).f1]));
      const f1 = Object.values(perCorpus).reduce((a, b) => a + b, 0) / corpora.length;
      history.push({ epoch, loss: lossSum / trainCount, develF1: f1, seconds: elapsed() });
      if (f1 > best.f1) {
        best = { epoch, f1, perCorpus };
        if (bestWeights) disposeSnapshot(bestWeights);
        bestWeights = snapshot(params);
      }
      report({ epoch, loss: lossSum / trainCount, tokensPerSecond: 0, elapsedSeconds: elapsed(), develF1: f1, bestDevelF1: best.f1, phase: 'eval' });
      if (epoch % (hooks.checkpointEvery ?? 1) === 0) checkpoint(epoch);
      if (epoch - best.epoch >= o.patience) {
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
  model.info.metrics = { bestEpoch: best.epoch, develF1: best.f1, develF1PerCorpus: best.perCorpus, trainSeconds, stoppedBy };
  report({ epoch: best.epoch, loss: 0, tokensPerSecond: 0, elapsedSeconds: trainSeconds, bestDevelF1: best.f1, phase: 'done' });
  return { model, bestEpoch: best.epoch, bestDevelF1: best.f1, develF1: best.perCorpus, history, stoppedBy, trainSeconds };
}
