import * as path from 'node:path';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { parseConll } from '../training/data/conll';
import { splitSentences, Token } from '../training/text/tokenizer';

/** CoNLL/IOB files (token TAB tag per line) by extension; everything else is tagged as running text. */
export const CONLL_EXTENSIONS = ['.conll', '.iob', '.bio', '.tsv'];

export type DocKind = 'text' | 'conll';

export function kindOf(uri: string): DocKind {
  return CONLL_EXTENSIONS.includes(path.extname(uri.split(/[?#]/)[0]).toLowerCase()) ? 'conll' : 'text';
}

/** A sentence of a document: its tokens with offsets into the document text, and for CoNLL its tag column. */
export interface DocSentence {
  start: number;
  end: number;
  tokens: Token[];
  /** CoNLL: the file's tags (the user's annotation). */
  tags?: string[];
  /** CoNLL: 0-based line of each token. */
  lines?: number[];
}

export interface Problem {
  line: number;
  message: string;
  severity: 'error' | 'warning';
}

export interface AnalysedDoc {
  uri: string;
  version: number;
  kind: DocKind;
  text: string;
  sentences: DocSentence[];
  /** Malformed CoNLL lines and the like: reported as diagnostics, the rest of the document is still used. */
  problems: Problem[];
  /** Why the document is not tagged at all (binary, too large). */
  refused?: string;
  /** The text holds U+FFFD replacement characters: the file was not valid UTF-8. Labels are not written. */
  invalidUtf8?: { line: number };
}

const lineOf = (text: string, offset: number): number => {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
};

/** NUL characters or many control characters: not text. */
function looksBinary(text: string): boolean {
  const sample = text.slice(0, 65536);
  if (sample.includes('\u0000')) return true;
  let control = 0;
  for (let i = 0; i < sample.length; i++) {
    const c = sample.charCodeAt(i);
    if ((c < 32 && c !== 9 && c !== 10 && c !== 13 && c !== 12) || c === 0xfffd) control++;
  }
  return sample.length > 0 && control / sample.length > 0.1;
}

/** Splits a document into sentences of tokens with offsets (running text) or reads its rows (CoNLL). */
export function analyse(doc: TextDocument, maxMiB: number): AnalysedDoc {
  const text = doc.getText();
  const base = { uri: doc.uri, version: doc.version, kind: kindOf(doc.uri), text, sentences: [] as DocSentence[], problems: [] as Problem[] };
  const mib = text.length / (1024 * 1024);
  if (mib > maxMiB) {
    const refused = `This document has ${mib.toFixed(1)} MiB of text; MetaBioNER tags documents of up to ${maxMiB} MiB (setting metabioner.maxDocumentMiB).`;
    return { ...base, refused, problems: [{ line: 0, message: refused, severity: 'warning' }] };
  }
  if (looksBinary(text)) {
    const refused = 'This looks like a binary file (NUL or control characters), not text: it is not tagged.';
    return { ...base, refused, problems: [{ line: 0, message: refused, severity: 'warning' }] };
  }
  const bad = text.indexOf('\ufffd');
  const invalidUtf8 = bad >= 0 ? { line: lineOf(text, bad) } : undefined;
  if (invalidUtf8) {
    base.problems.push({ line: invalidUtf8.line, severity: 'warning', message: 'This file is not valid UTF-8 (the replacement character � marks undecodable bytes): entities are shown, but labels cannot be saved until it is re-encoded as UTF-8.' });
  }
  if (base.kind === 'text') {
    base.sentences = splitSentences(text).map((s) => ({ start: s.start, end: s.end, tokens: s.tokens }));
  } else {
    readConllRows(doc.uri, text, base.sentences, base.problems);
  }
  return { ...base, invalidUtf8 };
}

/** CoNLL rows leniently: a malformed line becomes a problem (with the corpus reader's own message) and is skipped. */
function readConllRows(uri: string, text: string, out: DocSentence[], problems: Problem[]): void {
  let cur: DocSentence | undefined;
  const flush = () => {
    if (cur) out.push(cur);
    cur = undefined;
  };
  let pos = 0;
  let line = 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let raw = text.slice(pos, end);
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    const start = pos + (line === 0 && raw.charCodeAt(0) === 0xfeff ? 1 : 0);
    if (raw.trim() === '') flush();
    else {
      try {
        const [row] = parseConll(raw.slice(start - pos), path.basename(uri));
        cur ??= { start, end: start, tokens: [], tags: [], lines: [] };
        cur.tokens.push({ text: row.tokens[0], start, end: start + row.tokens[0].length });
        cur.tags!.push(row.tags[0]);
        cur.lines!.push(line);
        cur.end = start + raw.length;
      } catch (err) {
        problems.push({ line, severity: 'error', message: `${(err as Error).message.replace(/^[^:]*:\d+: /, '')} (line skipped)` });
      }
    }
    if (end === text.length) break;
    pos = end + 1;
    line++;
  }
  flush();
}

/** Sentences that overlap [start, end) (binary search: sentences are in document order). */
export function sentencesIn(sentences: readonly DocSentence[], start: number, end: number): DocSentence[] {
  let lo = 0;
  let hi = sentences.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sentences[mid].end < start) lo = mid + 1;
    else hi = mid;
  }
  const out: DocSentence[] = [];
  for (let i = lo; i < sentences.length && sentences[i].start <= end; i++) out.push(sentences[i]);
  return out;
}
