import { splitSentences } from '../text/tokenizer';
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

/** Splits, tokenizes and tags raw text; offsets point into `text`. */
export function tagText(model: NerModel, text: string): TextEntity[] {
  const sentences = splitSentences(text);
  const predictions = model.predict(sentences.map((s) => s.tokens.map((t) => t.text)));
  const entities: TextEntity[] = [];
  predictions.forEach((p, i) => {
    const toks = sentences[i].tokens;
    for (const span of p.spans) {
      const start = toks[span.start].start;
      const end = toks[span.end - 1].end;
      entities.push({ start, end, type: span.type, text: text.slice(start, end), confidence: span.confidence, sentence: i });
    }
  });
  return entities;
}
