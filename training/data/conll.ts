import * as fs from 'node:fs';
import type { Sentence } from './types';

/** A problem in a corpus file, located at a 1-based line. */
export class CorpusFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'CorpusFormatError';
  }
}

export interface ParseOptions {
  /** Reject an `I-X` that does not continue a `B-X`/`I-X` (IOB2). Otherwise such tags are kept as they are. */
  strict?: boolean;
}

const TAG = /^(?:O|[BI]-\S+)$/;

/**
 * Parses `TOKEN<TAB>TAG` lines, sentences separated by blank lines (CRLF tolerated, repeated blank lines
 * tolerated). Every sentence records the line of its first token.
 */
export function parseConll(text: string, file: string, opts: ParseOptions = {}): Sentence[] {
  const sentences: Sentence[] = [];
  let tokens: string[] = [];
  let tags: string[] = [];
  let startLine = 0;
  let lineNo = 0;
  let pos = 0;
  const flush = () => {
    if (tokens.length) sentences.push({ tokens, tags, source: { file, line: startLine } });
    tokens = [];
    tags = [];
  };
  if (text.charCodeAt(0) === 0xfeff) pos = 1; // a UTF-8 byte-order mark is not part of the first token
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let line = text.slice(pos, end);
    pos = end + 1;
    lineNo++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') {
      flush();
      if (end === text.length) break;
      continue;
    }
    const tab = line.indexOf('\t');
    if (tab < 0 || line.indexOf('\t', tab + 1) >= 0) {
      const fields = line.split('\t').length;
      throw new CorpusFormatError(file, lineNo, `expected 2 tab-separated fields (token, tag), found ${fields}`);
    }
    const token = line.slice(0, tab);
    const tag = line.slice(tab + 1);
    if (token === '' || /\s/.test(token)) throw new CorpusFormatError(file, lineNo, `empty token or token with white space: "${token}"`);
    if (!TAG.test(tag)) throw new CorpusFormatError(file, lineNo, `tag "${tag}" is not O, B-<type> or I-<type>`);
    if (opts.strict && tag.charCodeAt(0) === 73 /* I */) {
      const prev = tags.length ? tags[tags.length - 1] : 'O';
      if (prev === 'O' || prev.slice(2) !== tag.slice(2)) {
        throw new CorpusFormatError(file, lineNo, `${tag} after ${prev}: an entity must start with B-${tag.slice(2)} (IOB2)`);
      }
    }
    if (!tokens.length) startLine = lineNo;
    tokens.push(token);
    tags.push(tag);
    if (end === text.length) break;
  }
  flush();
  if (sentences.length === 0) throw new CorpusFormatError(file, 1, 'no sentences (the file is empty)');
  return sentences;
}

/** Decodes UTF-8, naming the line of the first invalid byte. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Find the first invalid sequence to report its line.
    const ok = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    const bad = ok.indexOf('\ufffd');
    const line = bad < 0 ? 1 : ok.slice(0, bad).split('\n').length;
    throw new CorpusFormatError(file, line, 'not valid UTF-8');
  }
}

export function readConll(file: string, opts: ParseOptions = {}): Sentence[] {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new CorpusFormatError(file, 0, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConll(decodeUtf8(bytes, file), file, opts);
}

/** The file format back: token TAB tag per line, a blank line between sentences, a final newline. */
export function formatConll(sentences: readonly Pick<Sentence, 'tokens' | 'tags'>[]): string {
  return sentences.map((s) => s.tokens.map((t, i) => `${t}\t${s.tags[i]}`).join('\n')).join('\n\n') + '\n';
}
