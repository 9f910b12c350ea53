import { splitSentences, Token } from '../text/tokenizer';
import type { NerModel } from './ner-model';

/** An entity found in raw text, with UTF-16 offsets into that text. */
export interface TextEntity {
  start: number;
  end: number;
  type: string;
  text: string;
  confidence: number;
  /** Index of the sentence it is in (sentence splitting of the same text). */
  sentence: number;
}

/**
 * Longest token run tagged at once. Text without sentence punctuation (tables, lists, binary junk) would
 * otherwise become one sentence as long as the document, and the BiLSTM's cost grows with its length.
 */
export const MAX_SENTENCE_TOKENS = 250;

/** Splits, tokenizes and tags raw text; offsets point into `text`. */
export function tagText(model: NerModel, text: string): TextEntity[] {
  const pieces: { tokens: Token[]; sentence: number }[] = [];
  splitSentences(text).forEach((s, i) => {
    for (let k = 0; k < s.tokens.length; k += MAX_SENTENCE_TOKENS) pieces.push({ tokens: s.tokens.slice(k, k + MAX_SENTENCE_TOKENS), sentence: i });
  });
  const predictions = model.predict(pieces.map((p) => p.tokens.map((t) => t.text)));
  const entities: TextEntity[] = [];
  predictions.forEach((p, i) => {
    const toks = pieces[i].tokens;
    for (const span of p.spans) {
      const start = toks[span.start].start;
      const end = toks[span.end - 1].end;
      entities.push({ start, end, type: span.type, text: text.slice(start, end), confidence: span.confidence, sentence: pieces[i].sentence });
    }
  });
  return entities;
}
