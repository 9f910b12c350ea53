import type { Sentence } from '../data/types';
import { entityCalibration } from '../eval/calibration';
import { evaluatePredictions } from '../eval/evaluate-model';
import type { WordVectors } from '../model/features';
import { NerModel } from '../model/ner-model';
import { DEFAULT_SHAPE, initParams, TaggerShape } from '../model/tagger';
import { CharVocab, TagSet } from '../model/vocab';
import { Rng } from '../util/random';
import { adaptFewShot, AdaptOptions } from './adapt';
import { GENERIC_TYPE } from './meta-train';
import { hasEntity } from './tasks';

/** A target corpus of meta-testing: where support sentences come from, and what is scored. */
export interface FewShotTarget {
  corpus: string;
  /** Pool of support sentences (the corpus' train split). */
  train: readonly Sentence[];
  /** Scored sentences (its test split, or a fixed subset of it). */
  test: readonly Sentence[];
  /** The types the corpus annotates: the new decoder's labels and the scored types. */
  types: string[];
  /**
   * Corpora whose types the initialisation already tags (extend mode): each adapted model is scored on them too,
   * to see what adapting to the target made it forget.
   */
  retained?: readonly RetainedCorpus[];
}

/** A corpus scored on types the model knew before adaptation (sentences and types as the model names them). */
export interface RetainedCorpus {
  corpus: string;
  test: readonly Sentence[];
  types: string[];
}

/** Entity-level F1 and expected calibration error of the predicted entities' confidences. */
export interface CorpusScore {
  f1: number;
  /** 0 when nothing was predicted: weigh it by `entities` when averaging. */
  ece: number;
  /** Predicted entities (of the scored types). */
  entities: number;
}

/** What one (K, sample) unit of meta-testing measured. */
export interface SampleScore extends CorpusScore {
  k: number;
  sample: number;
  /** Extend mode: scores on the retained corpora after adaptation. */
  retained?: Record<string, CorpusScore>;
}

export interface FewShotEvalOptions {
  ks: number[];
  /** Distinct support sets per K (the paper: 20). */
  samples: number;
  /** Seed of the support samples; the same seed gives every initialisation the same support sets. */
  seed: number;
  adapt: Partial<AdaptOptions>;
  /** The (K, sample) units to run (default: every sample of every K); a resumed benchmark runs the missing ones. */
  units?: readonly { k: number; sample: number }[];
}

export interface FewShotScores {
  /** F1 of each sample, per K. */
  f1: Record<number, number[]>;
  /** Mean F1 per K. */
  mean: Record<number, number>;
  /** Expected calibration error of each sample's predicted entities, per K. */
  ece: Record<number, number[]>;
}

/** The units of a run, in order. */
export function unitsOf(o: Pick<FewShotEvalOptions, 'ks' | 'samples' | 'units'>): { k: number; sample: number }[] {
  return o.units ? [...o.units] : o.ks.flatMap((k) => Array.from({ length: o.samples }, (_, sample) => ({ k, sample })));
}

/**
 * K distinct sentences with at least one entity each: a user adapting to new types annotates sentences that
 * show them, and a support set without any entity teaches a new decoder nothing.
 */
export function sampleSupport(pool: readonly Sentence[], k: number, rng: Rng): Sentence[] {
  const eligible = pool.filter(hasEntity);
  if (eligible.length < k) throw new Error(`only ${eligible.length} sentences with entities for K = ${k}`);
  return rng.sample(eligible.length, k).map((i) => eligible[i]);
}

/** Support set `sample` of K: the same whichever initialisation is adapted on it, and whatever else is sampled. */
export function supportSet(target: FewShotTarget, k: number, sample: number, seed: number): Sentence[] {
  return sampleSupport(target.train, k, new Rng(seed * 100_003 + k * 1009 + sample));
}

/** The support sets of a run. */
export function supportSets(target: FewShotTarget, k: number, samples: number, seed: number): Sentence[][] {
  return Array.from({ length: samples }, (_, s) => supportSet(target, k, s, seed));
}

/**
 * Heterogeneous adaptation and scoring (meta-testing): for each K and each sampled support set, a copy of
 * `init`'s encoder with a new decoder over the target's types (or, with `adapt.mode` extend, the model's decoder
 * grown by them) is trained on the support set and scored on the test sentences (entity-level F1 and calibration,
 * the target's types only).
 */
export function fewShotEval(
  init: NerModel,
  target: FewShotTarget,
  o: FewShotEvalOptions,
  onResult?: (r: SampleScore) => void,
  signal?: AbortSignal,
): FewShotScores {
  const results: SampleScore[] = [];
  for (const { k, sample } of unitsOf(o)) {
    if (signal?.aborted) break;
    const r = scoreSample(init, target, o, k, sample);
    results.push(r);
    onResult?.(r);
  }
  return collectScores(o.ks, results);
}

/** F1 (`types` only) and entity calibration of a model on scored sentences, from one pass of predictions. */
export function scoreOn(model: NerModel, sentences: readonly Sentence[], types: readonly string[]): CorpusScore {
  const predicted = model.predict(sentences.map((s) => s.tokens));
  const calibration = entityCalibration(sentences, predicted, types);
  return { f1: evaluatePredictions(sentences, predicted, types).f1, ece: calibration.ece, entities: calibration.entities };
}

/**
 * One unit of meta-testing: sample `sample` of K adapted from `init` and scored (and, given retained corpora,
 * scored on them too); independent of every other unit.
 */
export function scoreSample(init: NerModel, target: FewShotTarget, o: FewShotEvalOptions, k: number, sample: number): SampleScore {
  const support = supportSet(target, k, sample, o.seed);
  const adapted = adaptFewShot(init, support, { ...o.adapt, types: target.types, seed: o.seed + sample });
  try {
    const r: SampleScore = { k, sample, ...scoreOn(adapted, target.test, target.types) };
    if (target.retained?.length) r.retained = Object.fromEntries(target.retained.map((c) => [c.corpus, scoreOn(adapted, c.test, c.types)]));
    return r;
  } finally {
    adapted.dispose();
  }
}

/** Scores per K in sample order, and their means. */
export function collectScores(ks: readonly number[], results: readonly SampleScore[]): FewShotScores {
  const scores: FewShotScores = { f1: {}, mean: {}, ece: {} };
  for (const k of ks) {
    const list = results.filter((r) => r.k === k).sort((a, b) => a.sample - b.sample);
    scores.f1[k] = list.map((r) => r.f1);
    scores.ece[k] = list.map((r) => r.ece);
    scores.mean[k] = scores.f1[k].reduce((a, b) => a + b, 0) / Math.max(1, list.length);
  }
  return scores;
}

/**
 * The no-meta-training baseline's starting point: a freshly initialised tagger (same word vectors, character
 * vocabulary and sizes as the meta-trained ones) whose encoder the adaptation then trains from scratch.
 */
export function scratchModel(words: WordVectors, chars: CharVocab, sizes: Pick<TaggerShape, 'hidden' | 'layers'>, seed: number): NerModel {
  const tagSet = new TagSet([GENERIC_TYPE]);
  const shape: TaggerShape = { ...DEFAULT_SHAPE, ...sizes, wordDim: words.dim, charVocabSize: chars.size, numTags: tagSet.size, numDomains: 0 };
  return new NerModel(shape, tagSet, chars, words, initParams(shape, new Rng(seed).seed()), { name: 'scratch', created: new Date().toISOString(), trainedOn: [], hyper: { seed } });
}

/** A fixed random subset of at most `limit` sentences (0 = all), the same for every method of a run. */
export function testSubset(sentences: readonly Sentence[], limit: number, seed: number): Sentence[] {
  if (limit <= 0 || sentences.length <= limit) return [...sentences];
  return new Rng(seed)
    .sample(sentences.length, limit)
    .sort((a, b) => a - b)
    .map((i) => sentences[i]);
}
