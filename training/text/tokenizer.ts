/**
 * Tokenization and sentence splitting of raw text with exact UTF-16 offsets, in the style of the
 * benchmark corpora: a maximal run of letters and digits is one token, every other visible character is a
 * token of its own ("IL-2" → IL - 2, "(p<0.05)" → ( p < 0 . 05 )). That is the GENIA/NERsuite-like
 * splitting that most of the corpora use; `docs/results/tokenizer.md` measures how closely it reproduces
 * each corpus.
 */

export interface Token {
  text: string;
  start: number;
  end: number;
}

export interface SentenceSpan {
  start: number;
  end: number;
  tokens: Token[];
}

const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;
const SPACE = /[\s\u00a0\u200b\ufeff]/u;

/** Tokens of `text` (offsets into it; `text.slice(start, end) === token.text`). Never throws. */
export function tokenize(text: string, from = 0, to = text.length): Token[] {
  const tokens: Token[] = [];
  let i = from;
  while (i < to) {
    const cp = text.codePointAt(i) as number;
    const width = cp > 0xffff ? 2 : 1;
    const ch = text.slice(i, i + width);
    if (SPACE.test(ch) || cp < 0x20) {
      i += width;
      continue;
    }
    if (WORD_CHAR.test(ch)) {
      let j = i + width;
      while (j < to) {
        const c2 = text.codePointAt(j) as number;
        const w2 = c2 > 0xffff ? 2 : 1;
        if (!WORD_CHAR.test(text.slice(j, j + w2))) break;
        j += w2;
      }
      tokens.push({ text: text.slice(i, j), start: i, end: j });
      i = j;
    } else {
      tokens.push({ text: ch, start: i, end: i + width });
      i += width;
    }
  }
  return tokens;
}

/** Abbreviations after which a period does not end a sentence (lower-cased, without the period). */
const ABBREVIATIONS = new Set([
  'e.g', 'i.e', 'al', 'fig', 'figs', 'vs', 'dr', 'approx', 'no', 'nos', 'ca', 'cf', 'etc', 'resp', 'ref', 'refs', 'vol', 'eq', 'mr', 'mrs', 'ms', 'prof', 'st', 'sp', 'spp', 'var', 'subsp', 'inc', 'ltd', 'co', 'jr', 'sr', 'min', 'max', 'tab', 'suppl', 'mol', 'wt', 'conc', 'est',
]);

function isSentenceEnd(tokens: Token[], k: number): boolean {
  const t = tokens[k];
  if (t.text !== '.' && t.text !== '?' && t.text !== '!') return false;
  const next = tokens[k + 1];
  if (!next) return true;
  // A break needs white space after the mark and a plausible sentence start.
  if (next.start === t.end) return false;
  const first = next.text[0];
  const startsSentence = /[\p{Lu}\p{N}([“"'‘]/u.test(first);
  if (!startsSentence) return false;
  if (t.text !== '.') return true;
  const prev = tokens[k - 1];
  if (prev && prev.end === t.start) {
    const word = prev.text.toLowerCase();
    // "E. coli", "S. aureus": a single capital letter before the period is an initial.
    if (/^\p{Lu}$/u.test(prev.text)) return false;
    if (ABBREVIATIONS.has(word)) return false;
    // "e.g." / "i.e.": letter-period-letter-period.
    const prev2 = tokens[k - 2];
    const prev3 = tokens[k - 3];
    if (prev2?.text === '.' && prev3 && /^\p{L}$/u.test(prev.text) && /^\p{L}$/u.test(prev3.text)) return false;
  }
  return true;
}

/**
 * Sentences of `text`: breaks after `.`, `?`, `!` followed by white space and a capital, digit or opening
 * bracket (not after abbreviations or initials), and always at blank lines and Markdown headings.
 */
export function splitSentences(text: string): SentenceSpan[] {
  const sentences: SentenceSpan[] = [];
  // Paragraphs first: blank lines and heading lines always end a sentence.
  const blocks: [number, number][] = [];
  const lineBreak = /\r?\n/g;
  let lineStart = 0;
  let blockStart = 0;
  const closeBlock = (end: number) => {
    if (end > blockStart) blocks.push([blockStart, end]);
  };
  for (;;) {
    const m = lineBreak.exec(text);
    const lineEnd = m ? m.index : text.length;
    const line = text.slice(lineStart, lineEnd);
    if (line.trim() === '') {
      closeBlock(lineStart);
      blockStart = m ? m.index + m[0].length : text.length;
    } else if (/^\s{0,3}#{1,6}\s/.test(line)) {
      closeBlock(lineStart);
      blocks.push([lineStart, lineEnd]);
      blockStart = m ? m.index + m[0].length : text.length;
    }
    if (!m) break;
    lineStart = m.index + m[0].length;
  }
  closeBlock(text.length);
  for (const [from, to] of blocks) {
    const tokens = tokenize(text, from, to);
    let begin = 0;
    for (let k = 0; k < tokens.length; k++) {
      if (isSentenceEnd(tokens, k)) {
        const part = tokens.slice(begin, k + 1);
        sentences.push({ start: part[0].start, end: part[part.length - 1].end, tokens: part });
        begin = k + 1;
      }
    }
    if (begin < tokens.length) {
      const part = tokens.slice(begin);
      sentences.push({ start: part[0].start, end: part[part.length - 1].end, tokens: part });
    }
  }
  return sentences;
}
