import { MAX_SENTENCE_TOKENS } from '../training/model/tag-text';
import type { NerModel, PredictedSpan } from '../training/model/ner-model';
import type { DocSentence } from './documents';

/** A predicted entity with offsets into the document text. */
export interface OffsetEntity {
  start: number;
  end: number;
  type: string;
  confidence: number;
  sentence: DocSentence;
}

/** Sentences tagged per model call between two yields to the event loop (keeps requests answered). */
const CHUNK = 48;

const keyOf = (tokens: readonly { text: string }[]): string => tokens.map((t) => t.text).join('\u0001');

/**
 * Tags sentences with a cache keyed by the sentence's tokens: after an edit only the sentences whose tokens
 * changed go through the model. Work is done in chunks with a yield in between, and stops early when the
 * caller's result has become stale (a newer document version).
 */
export class SentenceTagger {
  private cache = new Map<string, PredictedSpan[]>();
  private generation = -1;

  constructor(private readonly capacity = 100_000) {}

  /** Entities of `sentences`, or undefined if `isStale()` turned true meanwhile. */
  async tag(model: NerModel, generation: number, sentences: readonly DocSentence[], isStale: () => boolean = () => false): Promise<OffsetEntity[] | undefined> {
    if (generation !== this.generation) {
      this.cache.clear();
      this.generation = generation;
    }
    // Pieces of at most MAX_SENTENCE_TOKENS tokens, as tagText does, so that punctuation-free text stays tractable.
    const pieces: { tokens: DocSentence['tokens']; sentence: DocSentence; key: string }[] = [];
    for (const s of sentences) {
      for (let k = 0; k < s.tokens.length; k += MAX_SENTENCE_TOKENS) {
        const tokens = s.tokens.slice(k, k + MAX_SENTENCE_TOKENS);
        pieces.push({ tokens, sentence: s, key: keyOf(tokens) });
      }
    }
    const missing = [...new Set(pieces.filter((p) => !this.cache.has(p.key)).map((p) => p.key))];
    const byKey = new Map(pieces.map((p) => [p.key, p.tokens]));
    for (let i = 0; i < missing.length; i += CHUNK) {
      if (i > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (isStale() || generation !== this.generation) return undefined;
      }
      const keys = missing.slice(i, i + CHUNK);
      const predictions = model.predict(keys.map((k) => byKey.get(k)!.map((t) => t.text)));
      keys.forEach((k, j) => this.remember(k, predictions[j].spans));
    }
    const out: OffsetEntity[] = [];
    for (const p of pieces) {
      const spans = this.cache.get(p.key) ?? [];
      for (const s of spans) out.push({ start: p.tokens[s.start].start, end: p.tokens[s.end - 1].end, type: s.type, confidence: s.confidence, sentence: p.sentence });
    }
    return out;
  }

  private remember(key: string, spans: PredictedSpan[]): void {
    if (this.cache.size >= this.capacity) {
      // Drop the oldest tenth (Map iteration order is insertion order).
      let n = Math.ceil(this.capacity / 10);
      for (const k of this.cache.keys()) {
        if (n-- <= 0) break;
        this.cache.delete(k);
      }
    }
    this.cache.set(key, spans);
  }

  get size(): number {
    return this.cache.size;
  }
}
