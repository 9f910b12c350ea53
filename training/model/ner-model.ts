import * as tf from '@tensorflow/tfjs';
import { spanProbability } from './crf';
import { Featurizer, WordVectors } from './features';
import { decode, TaggerShape, Variables } from './tagger';
import { CharVocab, TagSet } from './vocab';

/** What a model says about itself in its manifest. */
export interface ModelInfo {
  name: string;
  created: string;
  /** Corpora (and splits) it was trained on. */
  trainedOn: string[];
  /** The command line or API options that produced it. */
  command?: string;
  hyper: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  /**
   * A unified tagger trained with per-corpus emission layers: the corpora whose annotation convention it can tag
   * in (`loadModel(dir, { convention })`); it tags in the generic one otherwise.
   */
  conventions?: string[];
}

/** View names a corpus' annotation convention replaces: the emission layer (the CRF's transitions stay shared). */
export const CONVENTION_VIEWS: readonly string[] = ['dec.out.W', 'dec.out.b'];

/** The parameter holding corpus `corpus`' own copy of a convention view (`dec.out.W` → `dec.@<corpus>.out.W`). */
export function conventionParam(corpus: string, view: string): string {
  return `dec.@${corpus}.${view.slice(4)}`;
}

/** How a model tagging in a convention is named (in its info, the CLI's output and the editor's status). */
export function conventionModelName(name: string, convention: string | undefined): string {
  return convention === undefined ? name : `${name} (${convention} convention)`;
}

export interface PredictedSpan {
  type: string;
  /** Token positions, end exclusive. */
  start: number;
  end: number;
  /** Probability under the CRF that exactly this span, with this type, is an entity. */
  confidence: number;
}

export interface SentencePrediction {
  tags: string[];
  spans: PredictedSpan[];
}

/** Sentences per model call in `NerModel.predict`. */
export const PREDICT_BATCH = 64;

/**
 * Padded tokens (sentences × the longest) per model call, at most. The wasm heap keeps the peak of the largest
 * call for good (the language server's resident size). Tagging the 560 test sentences of the fixture corpora in
 * calls of 48 (2026-12-02, wasm, same run): without a cap (64 sentences a batch) the heap grew from 16 to 122 MiB
 * at 6–8.8k tokens/s; capped at 2,048 / 1,024 / 512 padded tokens to 40 / 28 / 19 MiB at 9.5–12.7k tokens/s for
 * each cap — less padding, no slower. One call for all 560: 120 MiB uncapped, 23 MiB at 512.
 */
export const PREDICT_TOKENS = 512;

/**
 * How `NerModel.predict` groups sentences into model calls: indices sorted by length (stable), cut every
 * `batchSize` sentences or before the padded size would exceed `maxTokens` (a longer sentence alone is one call).
 * Predicting each group on its own gives exactly the same results (what a tagging pool relies on).
 */
export function predictionBatches(sentences: readonly (readonly unknown[])[], batchSize = PREDICT_BATCH, maxTokens = PREDICT_TOKENS): number[][] {
  const order = [...sentences.keys()].sort((a, b) => sentences[a].length - sentences[b].length);
  const batches: number[][] = [];
  let batch: number[] = [];
  for (const k of order) {
    // Sorted: this sentence is the longest of the batch it joins.
    if (batch.length > 0 && (batch.length >= batchSize || (batch.length + 1) * sentences[k].length > maxTokens)) {
      batches.push(batch);
      batch = [];
    }
    batch.push(k);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** A trained tagger: shapes, vocabularies, frozen word vectors and the weights θ, φ (and ω if any). */
export class NerModel {
  readonly featurizer: Featurizer;

  constructor(
    readonly shape: TaggerShape,
    readonly tagSet: TagSet,
    readonly chars: CharVocab,
    readonly words: WordVectors,
    readonly params: Variables,
    public info: ModelInfo,
    /** Domain names of the critic's classes, in order. */
    readonly domains: string[] = [],
  ) {
    this.featurizer = new Featurizer(words, chars, shape.maxWordChars);
  }

  get types(): string[] {
    return this.tagSet.types;
  }

  /** Tags sentences of tokens, `batchSize` sentences at a time (sorted by length to limit padding). */
  predict(sentences: readonly (readonly string[])[], batchSize = PREDICT_BATCH): SentencePrediction[] {
    const out = new Array<SentencePrediction>(sentences.length);
    for (const idx of predictionBatches(sentences, batchSize)) {
      const nonEmpty = idx.filter((k) => sentences[k].length > 0);
      for (const k of idx) if (sentences[k].length === 0) out[k] = { tags: [], spans: [] };
      if (nonEmpty.length === 0) continue;
      const batch = this.featurizer.batch(nonEmpty.map((k) => sentences[k]));
      const decoded = decode(this.params, this.shape, batch);
      nonEmpty.forEach((k, b) => {
        const d = decoded.sentences[b];
        const tags = this.tagSet.decode(d.path);
        // In BIOES an entity's own tags say where it ends (E-/S-); in IOB2 the next tag must not continue it.
        const bioes = this.tagSet.scheme === 'bioes';
        const spans = spansWithConfidence(tags, (s, spanTags, cont) =>
          spanProbability(decoded.crf, decoded.emissions, b * batch.T * decoded.crf.n, batch.lengths[b], s, this.tagSet.encode(spanTags), cont === null || bioes ? -1 : this.tagSet.id(cont), d.logZ),
        );
        out[k] = { tags, spans };
      });
    }
    return out;
  }

  dispose(): void {
    for (const v of Object.values(this.params)) v.dispose();
  }

  /** Number of weights (θ, φ, ω). */
  get parameterCount(): number {
    return Object.values(this.params).reduce((n, v) => n + v.size, 0);
  }
}

/** Entities of a decoded IOB2 tag sequence (the decoder only emits valid IOB2 when trained; repair anyway). */
function spansWithConfidence(
  tags: string[],
  probability: (start: number, spanTags: string[], continuation: string | null) => number,
): PredictedSpan[] {
  const spans: PredictedSpan[] = [];
  let t = 0;
  while (t < tags.length) {
    const tag = tags[t];
    if (tag === 'O') {
      t++;
      continue;
    }
    const type = tag.slice(2);
    let e = t + 1;
    while (e < tags.length && tags[e] === `I-${type}`) e++;
    const spanTags = tags.slice(t, e);
    spans.push({ type, start: t, end: e, confidence: probability(t, spanTags, `I-${type}`) });
    t = e;
  }
  return spans;
}

/** Copies of all weights, e.g. the best epoch's, independent of later updates. */
export function snapshot(vars: Readonly<Record<string, tf.Tensor>>): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [name, v] of Object.entries(vars)) out[name] = tf.clone(v);
  return out;
}

export function restore(vars: Variables, snap: Record<string, tf.Tensor>): void {
  for (const [name, t] of Object.entries(snap)) vars[name].assign(t);
}

export function disposeSnapshot(snap: Record<string, tf.Tensor>): void {
  for (const t of Object.values(snap)) t.dispose();
}
