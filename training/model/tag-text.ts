import { splitSentences, Token } from '../text/tokenizer';
import type { NerModel, SentencePrediction } from './ner-model';

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

/** Pieces of a text to tag: its sentences, cut into runs of at most MAX_SENTENCE_TOKENS tokens. */
export interface TextPiece {
  tokens: Token[];
  /** Index of the sentence it is in. */
  sentence: number;
}

/** Splits and tokenizes raw text into the pieces `tagText` sends through the model. */
export function textPieces(text: string): TextPiece[] {
  const pieces: TextPiece[] = [];
  splitSentences(text).forEach((s, i) => {
    for (let k = 0; k < s.tokens.length; k += MAX_SENTENCE_TOKENS) pieces.push({ tokens: s.tokens.slice(k, k + MAX_SENTENCE_TOKENS), sentence: i });
  });
  return pieces;
}

/** The entities of `text` given the predictions for its pieces (same order). */
export function textEntities(text: string, pieces: readonly TextPiece[], predictions: readonly SentencePrediction[]): TextEntity[] {
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

/** Splits, tokenizes and tags raw text; offsets point into `text`. */
export function tagText(model: NerModel, text: string): TextEntity[] {
  const pieces = textPieces(text);
  return textEntities(text, pieces, model.predict(pieces.map((p) => p.tokens.map((t) => t.text))));
}
