/**
 * How closely `tokenize` and `splitSentences` reproduce a corpus' own tokenization and sentence splitting.
 *
 * The corpora hold tokens, not text, so the text is rebuilt from them in one of two ways:
 *  - `spaces`: tokens joined by single spaces. Weak: every corpus boundary is given away by a space, so only
 *    corpus tokens that the tokenizer would cut further (e.g. JNLPBA's "IL-2") can disagree.
 *  - `natural`: tokens glued where prose has no space (before `,` `.` `;` `:` `)` `%`, after `(`, around `-` and
 *    `/`, "3'", "Crohn's", "Ca2+", "0.05", "e.g.") and with the corpora's ASCII stand-ins for single characters
 *    turned back ("+/-" → "±", ">=" → "≥", "(R)" → "®", "<FFFD>" → U+FFFD, JNLPBA's "``" → `"`), so that the
 *    tokenizer has to find those boundaries itself. Two adjacent letter/digit tokens are always kept apart by a
 *    space, since nothing in the corpora says whether the source had one; a corpus that cut a letter/digit run
 *    would not be caught (none of the seven does, except where it transliterated a character: "mu g" for "µg").
 */
import { splitSentences, tokenize } from './tokenizer';

export interface TokenizerAgreement {
  /** Sentences checked. */
  sentences: number;
  /** Corpus tokens in them. */
  tokens: number;
  /** Share of sentences whose every token the tokenizer reproduces exactly (same spans, no extra ones). */
  exactSentences: number;
  /** F1 of token spans (start, end) between the corpus and the tokenizer, over all tokens. */
  tokenAgreement: number;
}

export type Reconstruction = 'spaces' | 'natural';

export interface Reconstructed {
  text: string;
  /** Span of each corpus token in `text`. */
  spans: [number, number][];
}

/**
 * ASCII stand-ins that the corpora's conversion tools (standoff2conll's unicode2ascii for LINNAEUS, the GENIA
 * PTB quotes for JNLPBA) wrote for one character of the source text.
 */
const STAND_INS: ReadonlyMap<string, string> = new Map([
  ['+/-', '±'],
  ['>=', '≥'],
  ['<=', '≤'],
  ['-->', '→'],
  ['<--', '←'],
  ['--', '—'],
  ['(R)', '®'],
  ['(TM)', '™'],
  ['not-in', '∉'],
  ['``', '"'],
  ["''", '"'],
]);

function sourceText(token: string): string {
  const known = STAND_INS.get(token);
  if (known !== undefined) return known;
  // unicode2ascii writes characters it cannot map as "<XXXX>" (hex code point)
  const m = /^<([0-9A-F]{4,6})>$/.exec(token);
  if (m) {
    const cp = parseInt(m[1], 16);
    if (cp <= 0x10ffff) return String.fromCodePoint(cp);
  }
  return token;
}

const NO_SPACE_BEFORE = new Set([',', '.', ';', ':', ')', ']', '}', '%', '?', '!']);
const NO_SPACE_AFTER = new Set(['(', '[', '{']);
const GLUE = new Set(['-', '/']);
const isWordToken = (t: string | undefined): boolean => t !== undefined && /^[\p{L}\p{N}]/u.test(t) && /[\p{L}\p{N}]$/u.test(t);
const isDigits = (t: string | undefined): boolean => t !== undefined && /^\d+$/.test(t);
const isLetter = (t: string | undefined): boolean => t !== undefined && /^\p{L}$/u.test(t);

/** Is there a space between tokens i - 1 and i in natural text? (`toks` are the source texts.) */
function naturalSpace(toks: readonly string[], i: number, quoteOpen: boolean): boolean {
  const prev = toks[i - 1];
  const cur = toks[i];
  if (GLUE.has(prev) || GLUE.has(cur) || NO_SPACE_AFTER.has(prev)) return false;
  // ".05" after something that is not a number: "P = .05", "interval .01-.12"
  if (cur === '.' && isLeadingDecimal(toks, i)) return true;
  if (prev === '.' && isLeadingDecimal(toks, i - 1)) return false;
  if (NO_SPACE_BEFORE.has(cur)) return false;
  // "0.05", "1:100", "17p11.2", HGVS "c.2097insT"
  if ((prev === '.' || prev === ':') && /^\d/.test(cur) && /\d$/.test(toks[i - 2] ?? '')) return false;
  if (prev === '.' && /^[cgpmnr]$/.test(toks[i - 2] ?? '') && /^[\dA-Z]/.test(cur)) return false;
  // "e.g.", "i.e."
  if (prev === '.' && isLetter(cur) && isLetter(toks[i - 2]) && toks[i + 1] === '.') return false;
  // "3'", "Crohn's", "Ca2+", "CD4+"
  if ((cur === "'" || cur === '+') && (isWordToken(prev) || prev === ')')) return false;
  if (prev === "'" && (cur === 's' || cur === 't') && isWordToken(toks[i - 2])) return false;
  // straight double quotes alternate: no space after an opening one, none before a closing one
  if ((cur === '"' || prev === '"') && quoteOpen) return false;
  return true;
}

/** Is the period at `i` the start of a decimal written without its leading zero? */
function isLeadingDecimal(toks: readonly string[], i: number): boolean {
  const next = toks[i + 1];
  if (toks[i] !== '.' || !isDigits(next)) return false;
  const before = toks[i - 1];
  if (before === undefined || ['=', '<', '>', '(', '[', '-', '/', '±', '≤', '≥', ','].includes(before)) return true;
  return /^0/.test(next) && !/\d$/.test(before) && before !== ')';
}

/** A corpus sentence as text, and the span of each of its tokens in that text. */
export function reconstruct(tokens: readonly string[], how: Reconstruction): Reconstructed {
  const toks = how === 'natural' ? tokens.map(sourceText) : tokens;
  let text = '';
  const spans: [number, number][] = [];
  let quoteOpen = false;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (i > 0 && (how === 'spaces' || naturalSpace(toks, i, quoteOpen))) text += ' ';
    spans.push([text.length, text.length + t.length]);
    text += t;
    if (t === '"') quoteOpen = !quoteOpen;
  }
  return { text, spans };
}

/** A span as one number (start, end < 2^26 each). */
const SPAN_KEY = 0x4000000;

/** The tokenizer's spans on a reconstructed sentence, against the corpus spans. */
function compare(r: Reconstructed): { gold: number; found: number; correct: number } {
  const theirs = new Set(r.spans.map(([a, b]) => a * SPAN_KEY + b));
  let correct = 0;
  const ours = tokenize(r.text);
  for (const t of ours) if (theirs.has(t.start * SPAN_KEY + t.end)) correct++;
  return { gold: r.spans.length, found: ours.length, correct };
}

/**
 * How closely `tokenize` reproduces the corpus tokenization of these sentences: each sentence is turned into
 * text (`spaces`: tokens joined by single spaces, the default; `natural`: see the module comment) and
 * re-tokenized.
 */
export function checkAgainstCorpus(sentences: readonly { tokens: readonly string[] }[], how: Reconstruction = 'spaces'): TokenizerAgreement {
  let exact = 0;
  let gold = 0;
  let found = 0;
  let correct = 0;
  for (const s of sentences) {
    const c = compare(reconstruct(s.tokens, how));
    gold += c.gold;
    found += c.found;
    correct += c.correct;
    if (c.correct === c.gold && c.found === c.gold) exact++;
  }
  const p = found ? correct / found : 0;
  const r = gold ? correct / gold : 0;
  return {
    sentences: sentences.length,
    tokens: gold,
    exactSentences: sentences.length ? exact / sentences.length : 0,
    tokenAgreement: p + r ? (2 * p * r) / (p + r) : 0,
  };
}

/** The corpus tokens that `tokenize` most often fails to reproduce, with counts, most frequent first. */
export function unreproducedTokens(sentences: readonly { tokens: readonly string[] }[], how: Reconstruction, limit = 10): [string, number][] {
  const counts = new Map<string, number>();
  for (const s of sentences) {
    const r = reconstruct(s.tokens, how);
    const ours = new Set(tokenize(r.text).map((t) => t.start * SPAN_KEY + t.end));
    r.spans.forEach(([a, b], i) => {
      if (!ours.has(a * SPAN_KEY + b)) counts.set(s.tokens[i], (counts.get(s.tokens[i]) ?? 0) + 1);
    });
  }
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit);
}

export interface SplitterAgreement {
  /** Corpus sentences checked. */
  sentences: number;
  /** Sentence boundaries inside the checked runs of sentences (the corpus' own). */
  boundaries: number;
  /** Share of `splitSentences`' boundaries that are corpus boundaries. */
  precision: number;
  /** Share of corpus boundaries that `splitSentences` finds. */
  recall: number;
  f1: number;
  /**
   * Recall over the corpus boundaries that follow `.`, `?` or `!` (closers allowed). The others (titles and
   * headings without a full stop, which the corpora run into the next sentence of the same text) cannot be
   * found in text joined by spaces; in a document they sit on a line of their own.
   */
  recallAfterPunctuation: number;
  /** Share of corpus sentences that come out as one sentence of `splitSentences`, exactly. */
  exactSentences: number;
}

/**
 * How closely `splitSentences` reproduces the corpus sentence splitting: runs of `run` consecutive corpus
 * sentences (the files keep the order of their documents) are rebuilt as natural text joined by single spaces,
 * as in running prose, and split again. Boundaries between runs are not counted.
 */
export function checkSentenceSplitting(sentences: readonly { tokens: readonly string[] }[], run = 50): SplitterAgreement {
  let goldCount = 0;
  let foundCount = 0;
  let correct = 0;
  let exact = 0;
  let punctuated = 0;
  let punctuatedFound = 0;
  for (let from = 0; from < sentences.length; from += run) {
    const part = sentences.slice(from, from + run).filter((s) => s.tokens.length > 0);
    let text = '';
    const spans: [number, number][] = [];
    for (const s of part) {
      if (text) text += ' ';
      const r = reconstruct(s.tokens, 'natural');
      spans.push([text.length, text.length + r.text.length]);
      text += r.text;
    }
    const ours = splitSentences(text);
    const goldStarts = new Set(spans.slice(1).map((s) => s[0]));
    const ourStarts = new Set(ours.slice(1).map((s) => s.start));
    goldCount += goldStarts.size;
    foundCount += ourStarts.size;
    for (const s of ourStarts) if (goldStarts.has(s)) correct++;
    for (let i = 1; i < part.length; i++) {
      if (!endsWithPunctuation(part[i - 1].tokens)) continue;
      punctuated++;
      if (ourStarts.has(spans[i][0])) punctuatedFound++;
    }
    const ourSpans = new Set(ours.map((s) => s.start * SPAN_KEY + s.end));
    for (const [a, b] of spans) if (ourSpans.has(a * SPAN_KEY + b)) exact++;
  }
  const precision = foundCount ? correct / foundCount : 1;
  const recall = goldCount ? correct / goldCount : 1;
  return {
    sentences: sentences.length,
    boundaries: goldCount,
    precision,
    recall,
    f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0,
    recallAfterPunctuation: punctuated ? punctuatedFound / punctuated : 1,
    exactSentences: sentences.length ? exact / sentences.length : 0,
  };
}

const SENTENCE_END = new Set(['.', '?', '!']);
const SENTENCE_CLOSERS = new Set([')', ']', '"', "'", "''"]);

function endsWithPunctuation(tokens: readonly string[]): boolean {
  let i = tokens.length - 1;
  while (i >= 0 && SENTENCE_CLOSERS.has(tokens[i])) i--;
  return i >= 0 && SENTENCE_END.has(tokens[i]);
}
