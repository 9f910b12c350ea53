import type { Sentence } from '../data/types';
import { evaluateModel } from '../eval/evaluate-model';
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
}

export interface FewShotEvalOptions {
  ks: number[];
  /** Distinct support sets per K (the paper: 20). */
  samples: number;
  /** Seed of the support samples; the same seed gives every initialisation the same support sets. */
  seed: number;
  adapt: Partial<AdaptOptions>;
}

export interface FewShotScores {
  /** F1 of each sample, per K. */
  f1: Record<number, number[]>;
  /** Mean F1 per K. */
  mean: Record<number, number>;
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
 * `init`'s encoder with a new decoder over the target's types is trained on the support set and scored on
 * the test sentences (entity-level F1, the target's types only).
 */
export function fewShotEval(
  init: NerModel,
  target: FewShotTarget,
  o: FewShotEvalOptions,
  onResult?: (r: { k: number; sample: number; f1: number }) => void,
  signal?: AbortSignal,
): FewShotScores {
  const results: { k: number; sample: number; f1: number }[] = [];
  for (const k of o.ks) {
    for (let sample = 0; sample < o.samples; sample++) {
      if (signal?.aborted) break;
      const r = { k, sample, f1: scoreSample(init, target, o, k, sample) };
      results.push(r);
      onResult?.(r);
    }
  }
  return collectScores(o.ks, results);
}

/** One unit of meta-testing: sample `sample` of K adapted from `init` and scored; independent of every other unit. */
export function scoreSample(init: NerModel, target: FewShotTarget, o: FewShotEvalOptions, k: number, sample: number): number {
  const support = supportSet(target, k, sample, o.seed);
  const adapted = adaptFewShot(init, support, { ...o.adapt, types: target.types, seed: o.seed + sample });
  try {
    return evaluateModel(adapted, target.test, target.types).f1;
  } finally {
    adapted.dispose();
  }
}

/** Scores per K in sample order, and their means. */
export function collectScores(ks: readonly number[], results: readonly { k: number; sample: number; f1: number }[]): FewShotScores {
  const scores: FewShotScores = { f1: {}, mean: {} };
  for (const k of ks) {
    const list = results.filter((r) => r.k === k).sort((a, b) => a.sample - b.sample).map((r) => r.f1);
    scores.f1[k] = list;
    scores.mean[k] = list.reduce((a, b) => a + b, 0) / Math.max(1, list.length);
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
