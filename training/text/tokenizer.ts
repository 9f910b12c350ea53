/**
 * Tokenization and sentence splitting of raw text with exact UTF-16 offsets, in the style of the benchmark
 * corpora (NERsuite-like, as used by six of the seven): a maximal run of letters and digits is one token,
 * every other visible character is a token of its own ("IL-2" → IL - 2, "(p<0.05)" → ( p < 0 . 05 ),
 * "Crohn's" → Crohn ' s, "Ca2+" → Ca2 +). `docs/results/tokenizer.md` measures how closely this
 * reproduces each corpus.
 *
 * Non-ASCII text. The corpora are pure ASCII: their sources transliterated Greek letters and symbols before
 * tokenizing ("NF-κB" became the tokens NF - kappaB, "µg" became microg, "TNFα" became TNFalpha), so letters and
 * digits of any script stay inside the run they touch ("NF-κB" → NF - κB, "µg" → µg), superscript and
 * subscript digits included ("Ca²⁺" → Ca² ⁺ as the corpora's Ca2 +, "H₂O" as their H2O; the sources mostly
 * flattened "m²" to "m2", sometimes to "m(2)"). Other characters are single tokens, as the corpora's "+/-" for
 * "±" and "(R)" for "®" are. A combining mark stays with the character it modifies; a surrogate pair is never
 * cut; unpaired surrogates are tokens of one code unit.
 *
 * White space, control characters and invisible format characters (zero-width space, BOM, joiners,
 * direction marks) separate tokens and are never part of one; the soft hyphen is the exception and is a token,
 * because the corpora's sources turned it into "-".
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

/** One token: a letter/digit run (marks included), else one visible code point with its combining marks. */
const TOKEN = /[\p{L}\p{M}\p{N}]+|[^\s\p{Cc}\p{Cf}]\p{M}*|\u00ad/gu;

/** Tokens of `text` (offsets into it; `text.slice(start, end) === token.text`). Never throws. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  if (typeof text !== 'string') return tokens;
  const re = new RegExp(TOKEN.source, TOKEN.flags);
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    tokens.push({ text: m[0], start: m.index, end: m.index + m[0].length });
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------------------------
// Sentences

/**
 * Words after which a period does not end a sentence, spelled as they are written (case matters: "NO." is
 * nitric oxide and "Ca." calcium at the end of a sentence, "no." and "ca." are abbreviations). Single letters
 * ("E. coli", "J. Smith", "U.S.") and dotted abbreviations ("e.g.", "i.e.") are handled apart. Words that end
 * sentences in the corpora at least as often as they abbreviate inside one ("min.", "sp.", "nov.", "wt.",
 * "vol.") are left out.
 */
const ABBREVIATIONS = new Set([
  ...['al', 'etc', 'vs', 'cf', 'viz', 'resp', 'approx', 'fig', 'figs', 'ref', 'refs', 'eq', 'eqs', 'no', 'nos', 'suppl', 'tab', 'ca', 'incl', 'ie', 'eg'].flatMap((w) => [w, w[0].toUpperCase() + w.slice(1)]),
  ...['subsp', 'ssp', 'var', 'cv', 'pv', 'ed', 'eds'],
  ...['Dr', 'Drs', 'Mrs', 'Prof', 'Jr', 'Sr', 'St', 'Inc', 'Ltd', 'Co', 'Corp', 'Jan', 'Feb', 'Mar', 'Apr', 'Aug', 'Sep', 'Sept', 'Oct', 'Nov', 'Dec'],
]);
ABBREVIATIONS.delete('Ca'); // calcium
/** Abbreviated journal-title words, which make references look like strings of short sentences. */
for (const w of ['Proc', 'Natl', 'Acad', 'Sci', 'Biol', 'Chem', 'Biochem', 'Biophys', 'Med', 'Genet', 'Mol', 'Hum', 'Am', 'Res', 'Mutat', 'Assoc', 'Soc', 'Clin', 'Immunol', 'Microbiol', 'Pharmacol', 'Physiol', 'Neurol', 'Nucl', 'Eur', 'Int', 'Exp', 'Lett', 'Rev', 'Curr', 'Opin', 'Endocrinol', 'Oncol', 'Pathol', 'Virol', 'Bacteriol', 'Ann', 'Arch', 'Ther', 'Nat', 'Natl', 'Dis', 'Dev', 'Invest', 'Epidemiol', 'Infect'])
  ABBREVIATIONS.add(w);

const TERMINAL = new Set(['.', '?', '!', '…']);
const OPENERS = new Set(['(', '[', '{', '"', "'", '“', '‘', '«']);
/** Closing characters that stay with the sentence they follow ("(see below.)" , "… it.”"). */
const CLOSERS = new Set([')', ']', '}', '"', "'", '”', '’', '»']);

/** Lower-case words that begin names, and so sentences: Greek-letter prefixes ("beta-Catenin") … */
const GREEK_PREFIXES = new Set(['alpha', 'beta', 'gamma', 'delta', 'kappa', 'epsilon', 'omega']);
/** … and surname particles ("van der Woude syndrome", "von Hippel-Lindau disease"). */
const PARTICLES = new Set(['van', 'von', 'de', 'du', 'di', 'da', 'del', 'della', 'der', 'den', 'ten', 'ter']);

/**
 * Can a sentence begin at token `j`? A capital, a digit, an opening bracket or quote, a bullet ("* Here we");
 * or a lower-case word written so at the start of a name: with a capital or digit inside ("mRNA", "p53",
 * "mtDNA", "pH"), a Greek-letter prefix glued to a hyphen ("beta-Catenin"), or a surname particle.
 */
function startsSentence(tokens: readonly Token[], j: number): boolean {
  const t = tokens[j];
  const c = t.text.charCodeAt(0);
  if (c >= 0x41 && c <= 0x5a) return true; // A-Z
  if (c >= 0x30 && c <= 0x39) return true; // 0-9
  const after = tokens[j + 1];
  if (c >= 0x61 && c <= 0x7a) {
    if (/[A-Z0-9]/.test(t.text)) return true;
    if (GREEK_PREFIXES.has(t.text)) return after !== undefined && after.text === '-' && after.start === t.end;
    return PARTICLES.has(t.text) && after !== undefined && after.start > t.end && /^\p{Lu}/u.test(after.text);
  }
  if (c === 0x28 || c === 0x5b || c === 0x22 || c === 0x27) return true; // ( [ " '
  if (t.text === '*' || t.text === '•') return after !== undefined && after.start > t.end;
  if (c < 0x80) return false;
  return /^[\p{Lu}\p{Lt}\p{Nd}‘“«¿¡]/u.test(t.text);
}

function isWord(t: Token | undefined): boolean {
  return t !== undefined && /^[\p{L}\p{M}\p{N}]/u.test(t.text);
}

/**
 * Words after which a single capital is a name's initial ("with S. Typhimurium", "of J. Smith") rather than
 * the letter of a name ("vitamin D.", "protein kinase C.", "hepatitis B.", "at 4 degrees C.").
 */
const BEFORE_INITIAL = new Set(['of', 'from', 'with', 'in', 'by', 'to', 'the', 'a', 'an', 'on', 'for', 'as', 'at', 'than', 'against', 'between', 'both', 'including', 'like', 'such', 'strain', 'strains', 'serovar', 'that', 'but', 'nor', 'whereas', 'while', 'via', 'into', 'onto', 'within', 'among', 'versus']);

/**
 * Is the period at `k` the end of an abbreviation rather than of a sentence? Looks at the word glued to it:
 * a listed abbreviation; a letter of a dotted abbreviation ("e.g.", "i.e.", "U.S.", "a.m."); a single capital
 * that is an initial ("E. coli", "S. aureus", "J. N. Smith", "(Feder, J."), which is any single capital except
 * one that follows a lower-case content word or a number ("vitamin D.", "37 C.") or is glued to a symbol
 * ("mitomycin-C.", "37 °C.").
 */
function isAbbreviationPeriod(tokens: readonly Token[], k: number): boolean {
  const prev = tokens[k - 1];
  if (!prev || prev.end !== tokens[k].start || !isWord(prev)) return false;
  if (ABBREVIATIONS.has(prev.text)) return true;
  if (prev.text.length !== 1) return false;
  const dot = tokens[k - 2];
  const first = tokens[k - 3];
  if (dot?.text === '.' && dot.end === prev.start && first !== undefined && first.end === dot.start && first.text.length === 1 && /^\p{L}$/u.test(first.text) && /^\p{L}$/u.test(prev.text)) return true;
  if (!/\p{Lu}/u.test(prev.text)) return false;
  const before = tokens[k - 2];
  // glued to a symbol, it is part of something else: "mitomycin-C.", "37 °C.", "A/B." (but "(J. Smith")
  if (before !== undefined && before.end === prev.start && !isWord(before)) return OPENERS.has(before.text);
  if (before === undefined || !isWord(before)) return true;
  if (/^\p{Nd}+$/u.test(before.text)) return false;
  if (/^\p{Ll}+$/u.test(before.text)) return BEFORE_INITIAL.has(before.text);
  return true;
}

/** How `text` between two tokens separates them: 0 none, 1 space, 2 a line break, 3 a blank line. */
function gapKind(text: string, from: number, to: number): number {
  if (from === to) return 0;
  let newlines = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || c === 0x2028 || c === 0x0085 || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) newlines++;
    else if (c === 0x2029) newlines += 2; // paragraph separator
  }
  return newlines >= 2 ? 3 : newlines === 1 ? 2 : 1;
}

/** Kinds of Markdown-ish lines that stand apart from the lines around them. */
const enum LineKind {
  Text,
  /** `# Heading` (ATX) */
  Heading,
  /** `- item`, `* item`, `+ item`, `1. item`, `2) item`, `| table | row |` */
  Item,
  /** `===`, `---`, `***`: a setext underline or a thematic break */
  Rule,
}

function lineKind(text: string, lineStart: number): LineKind {
  let i = lineStart;
  let indent = 0;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t') && indent < 4) {
    i++;
    indent++;
  }
  const head = text.slice(i, i + 12);
  if (/^#{1,6}(?:[ \t]|$|\r|\n)/.test(head)) return LineKind.Heading;
  if (/^(?:[-*+•]|\d{1,3}[.)])[ \t]/.test(head) || head.startsWith('|')) {
    // "- item" is a list item, but "---" or "***" alone is a rule; check the whole line for the latter.
    if (!/^[-*][ \t]*[-*][ \t]*[-*]/.test(head)) return LineKind.Item;
  }
  const c = text[i];
  if (c === '=' || c === '-' || c === '*' || c === '_') {
    let j = i;
    let n = 0;
    while (j < text.length && text[j] !== '\n' && text[j] !== '\r') {
      if (text[j] === c) n++;
      else if (text[j] !== ' ' && text[j] !== '\t') return LineKind.Text;
      j++;
    }
    if (n >= 3 || (c === '=' && n >= 1)) return LineKind.Rule;
  }
  return LineKind.Text;
}

/** Offset where the line holding offset `at` begins. */
function lineStartOf(text: string, at: number): number {
  let i = at;
  while (i > 0) {
    const c = text.charCodeAt(i - 1);
    if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029 || c === 0x0085) break;
    i--;
  }
  return i;
}

/** Tokens after which a line continues on the next one (the sentence goes on). */
const CONTINUES = new Set([',', ';', ':', '-', '–', '/', '(', '[', '&', '+', '=', '<', '>', 'and', 'or', 'of', 'the', 'a', 'an', 'in', 'to', 'with', 'by', 'for', 'from', 'on', 'at', 'as', 'that', 'than', 'is', 'are', 'was', 'were', 'be']);

/** Length of the line holding offset `at`, without its leading and trailing white space. */
function lineLength(text: string, at: number): number {
  let a = lineStartOf(text, at);
  let b = at;
  while (b < text.length) {
    const c = text.charCodeAt(b);
    if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029 || c === 0x0085) break;
    b++;
  }
  while (a < b && /\s/.test(text[a])) a++;
  while (b > a && /\s/.test(text[b - 1])) b--;
  return b - a;
}

/**
 * Is the line ending with token `k` a title or heading in plain text ("RESULTS", "Materials and methods", a
 * paper's title over its abstract), so that the single line break after it ends a sentence? It has no
 * terminal punctuation, does not end in a word or mark that continues the sentence, the next line starts like
 * a sentence, and the line is short beside the next one (hard-wrapped prose fills its lines), at most 40
 * characters, or one of the two lines is too long for hard-wrapped text (one paragraph per line).
 */
function isTitleLine(text: string, tokens: readonly Token[], k: number): boolean {
  const t = tokens[k];
  if (TERMINAL.has(t.text) || CONTINUES.has(t.text.toLowerCase()) || !startsSentence(tokens, k + 1)) return false;
  const own = lineLength(text, t.start);
  const next = lineLength(text, tokens[k + 1].start);
  return own <= 40 || own < 0.6 * next || Math.max(own, next) > 160;
}

/**
 * Sentences of `text`, every token of the text in exactly one of them, in order. A sentence ends
 *  - after `.`, `?`, `!` or `…` (with any closing brackets and quotes glued to it) that is followed by white
 *    space and a capital, digit, or opening bracket or quote, unless the period belongs to an abbreviation
 *    ("e.g.", "et al.", "Fig.", "vs.", "approx.", "no.", …), a single capital ("E. coli", "S. aureus"), or a
 *    number ("37.5" has no space after its period, so it never ends one);
 *  - always at a blank line (paragraph break);
 *  - at the line breaks around a Markdown heading (`# Methods`), a setext underline or rule (`===`, `---`),
 *    and before a list item or table row (`- item`, `1. item`, `| a | b |`);
 *  - at the line break after a plain-text title or heading line (see `isTitleLine`).
 * Never throws.
 */
export function splitSentences(text: string): SentenceSpan[] {
  const tokens = tokenize(text);
  const sentences: SentenceSpan[] = [];
  let begin = 0;
  const close = (endExclusive: number) => {
    if (endExclusive <= begin) return;
    const part = tokens.slice(begin, endExclusive);
    sentences.push({ start: part[0].start, end: part[part.length - 1].end, tokens: part });
    begin = endExclusive;
  };
  // Kind of the line the previous token is on, computed once per line.
  let currentLine = tokens.length ? lineKind(text, lineStartOf(text, tokens[0].start)) : LineKind.Text;
  for (let k = 0; k + 1 < tokens.length; k++) {
    const t = tokens[k];
    const next = tokens[k + 1];
    const gap = gapKind(text, t.end, next.start);
    if (gap >= 2) {
      const nextLine = lineKind(text, lineStartOf(text, next.start));
      const lineBreak =
        gap === 3 ||
        currentLine === LineKind.Heading ||
        currentLine === LineKind.Rule ||
        nextLine !== LineKind.Text ||
        isTitleLine(text, tokens, k);
      currentLine = nextLine;
      if (lineBreak) {
        close(k + 1);
        continue;
      }
    }
    if (gap === 0 || !(TERMINAL.has(t.text) || CLOSERS.has(t.text)) || !startsSentence(tokens, k + 1)) continue;
    // `t` ends a group of glued marks and closers ("it.", "it.)", "why?!", "...") followed by space and a
    // plausible sentence start; the group must hold a terminal mark.
    let terminal = -1;
    for (let m = k; m >= begin; m--) {
      const x = tokens[m];
      if (TERMINAL.has(x.text)) terminal = m;
      else if (!CLOSERS.has(x.text)) break;
      if (m === 0 || tokens[m - 1].end !== x.start) break;
    }
    if (terminal < 0) continue;
    if (tokens[terminal].text === '.') {
      // "1. Administration of …": the number of a list item that opens the sentence
      if (terminal === begin + 1 && /^\d{1,2}$/.test(tokens[begin].text)) continue;
      // An abbreviation's period ends a sentence only when closers follow it and a word in capitals comes
      // next ("(Sigma Co.) Cells were"), not a number ("(5 mg/kg i.p.) 1 h later").
      if (isAbbreviationPeriod(tokens, terminal) && (terminal === k || !/^\p{Lu}/u.test(next.text))) continue;
    }
    close(k + 1);
  }
  close(tokens.length);
  return sentences;
}
