/** A tagged sentence as read from a CoNLL-style corpus file. */
export interface Sentence {
  tokens: string[];
  /** One tag per token, IOB2 (`O`, `B-Type`, `I-Type`) unless a function says otherwise. */
  tags: string[];
  /** Where the sentence starts in its file (1-based line), for error messages and "open at source". */
  source?: { file: string; line: number };
}

/** An entity over token positions: `start` inclusive, `end` exclusive. */
export interface TokenSpan {
  type: string;
  start: number;
  end: number;
}

export type CorpusSplit = 'train' | 'devel' | 'test';
