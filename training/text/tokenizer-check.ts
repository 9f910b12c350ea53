import { tokenize } from './tokenizer';

export interface TokenizerAgreement {
  sentences: number;
  tokens: number;
  /** Share of sentences re-tokenized exactly as the corpus has them. */
  exactSentences: number;
  /** F1 of token spans (start, end) between the corpus and the tokenizer. */
  tokenF1: number;
}

/** Corpus tokens joined by single spaces, with the character span of each. */
export function spaceJoined(tokens: readonly string[]): { text: string; spans: [number, number][] } {
  return joinWith(tokens, () => true);
}

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', ')', ']', '%', '?', '!', "'"]);
const NO_SPACE_AFTER = new Set(['(', '[']);
const GLUE = new Set(['-', '/']);

/**
 * Corpus tokens glued where running text would have no space (before `,` `.` `)`, after `(`, around `-`
 * and `/`): a harder check than the space-joined text, where every boundary is given away by a space.
 */
export function naturalJoined(tokens: readonly string[]): { text: string; spans: [number, number][] } {
  return joinWith(tokens, (prev, next) => !(NO_SPACE_BEFORE.has(next) || NO_SPACE_AFTER.has(prev) || GLUE.has(prev) || GLUE.has(next)));
}

function joinWith(tokens: readonly string[], space: (prev: string, next: string) => boolean): { text: string; spans: [number, number][] } {
  let text = '';
  const spans: [number, number][] = [];
  tokens.forEach((t, i) => {
    if (i > 0 && space(tokens[i - 1], t)) text += ' ';
    spans.push([text.length, text.length + t.length]);
    text += t;
  });
  return { text, spans };
}

/** How closely `tokenize` reproduces the corpus tokenization of these sentences, from the given reconstruction. */
export function checkAgainstCorpus(sentences: readonly { tokens: readonly string[] }[], reconstruct: typeof spaceJoined = spaceJoined): TokenizerAgreement {
  let exact = 0;
  let gold = 0;
  let found = 0;
  let correct = 0;
  for (const s of sentences) {
    const { text, spans } = reconstruct(s.tokens);
    const ours = tokenize(text).map((t) => `${t.start}:${t.end}`);
    const theirs = new Set(spans.map(([a, b]) => `${a}:${b}`));
    gold += theirs.size;
    found += ours.length;
    let c = 0;
    for (const o of ours) if (theirs.has(o)) c++;
    correct += c;
    if (c === theirs.size && ours.length === theirs.size) exact++;
  }
  const p = found ? correct / found : 0;
  const r = gold ? correct / gold : 0;
  return { sentences: sentences.length, tokens: gold, exactSentences: sentences.length ? exact / sentences.length : 0, tokenF1: p + r ? (2 * p * r) / (p + r) : 0 };
}
