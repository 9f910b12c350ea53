import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../training/io/atomic';

/** A text-bound brat annotation with UTF-16 offsets into the document text. */
export interface StandoffEntity {
  id: string;
  type: string;
  start: number;
  end: number;
  text: string;
}

/** The largest .ann file read (a brat file of a long abstract is a few KiB; 16 MiB is ~400,000 labels). */
export const MAX_ANN_BYTES = 16 * 2 ** 20;

/** The longest label (entity type name): it becomes a brat type, a CoNLL tag and a tag of adapted models. */
export const MAX_LABEL = 64;

export const LABEL_RULE = `letters, digits and _ . / + - only, starting with a letter or digit, at most ${MAX_LABEL} characters, not "O" nor a reserved name such as "constructor"`;

/** Whether a label is usable as a brat type, a CoNLL tag and a key of the server's and extension's tables. */
export function isUsableLabel(type: unknown): type is string {
  return typeof type === 'string' && type.length <= MAX_LABEL && /^[A-Za-z0-9][\w./+-]*$/.test(type) && type !== 'O' && !(type in Object.prototype) && type !== 'prototype';
}

/** Labels must be usable as brat types and CoNLL tags. */
export function checkLabel(type: unknown): string {
  if (!isUsableLabel(type)) {
    const shown = String(type);
    throw new Error(`"${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown}" is not a usable label: ${LABEL_RULE}.`);
  }
  return type;
}

export class AnnotationConflictError extends Error {
  constructor(file: string) {
    super(`${path.basename(file)} changed on disk since MetaBioNER read it; nothing was written. It has been read again: check the labels and retry.`);
    this.name = 'AnnotationConflictError';
  }
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Brat offsets count code points; JavaScript strings count UTF-16 units. */
function offsetMaps(text: string): { toUnits(cp: number): number; toCodePoints(u: number): number } | undefined {
  if (!/[\uD800-\uDFFF]/.test(text)) return undefined;
  const units: number[] = [];
  for (let u = 0; u <= text.length; ) {
    units.push(u);
    const c = text.codePointAt(u);
    u += c !== undefined && c > 0xffff ? 2 : 1;
  }
  return {
    toUnits: (cp) => units[Math.min(cp, units.length - 1)],
    toCodePoints: (u) => {
      let lo = 0;
      let hi = units.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (units[mid] <= u) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    },
  };
}

const T_LINE = /^(T\d+)\t(\S+) (\d+) (\d+)\t(.*)$/;

/**
 * The brat standoff file beside a text document (`notes.txt` → `notes.ann`). Lines it does not edit
 * (relations, events, notes, discontinuous entities) are written back verbatim. Every write is atomic and
 * refused when the file changed on disk since it was read, so no one's labels are overwritten unseen.
 */
export class StandoffFile {
  private lines: string[] = [];
  /** Hash of the content as read ('' when the file did not exist). */
  private readHash = '';
  private readStat = '';

  constructor(readonly file: string) {
    this.read();
  }

  static beside(docPath: string): StandoffFile {
    return new StandoffFile(path.join(path.dirname(docPath), `${path.basename(docPath, path.extname(docPath))}.ann`));
  }

  private diskContent(): string {
    try {
      const size = fs.statSync(this.file).size;
      if (size > MAX_ANN_BYTES) throw new Error(`${path.basename(this.file)} has ${(size / 2 ** 20).toFixed(1)} MiB, more than the ${MAX_ANN_BYTES / 2 ** 20} MiB of labels MetaBioNER reads`);
      return fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return '';
      if (code) throw new Error(`${path.basename(this.file)} cannot be read (${code})`);
      throw err;
    }
  }

  private stat(): string {
    try {
      const s = fs.statSync(this.file);
      return `${s.mtimeMs}:${s.size}`;
    } catch {
      return '';
    }
  }

  read(): void {
    const content = this.diskContent();
    this.readStat = this.stat();
    this.readHash = content === '' ? '' : sha(content);
    this.lines = content.split('\n');
    if (this.lines[this.lines.length - 1] === '') this.lines.pop();
  }

  /** Reads the file again if it changed on disk (cheap check by modification time and size). */
  refresh(): void {
    if (this.stat() !== this.readStat) this.read();
  }

  /**
   * Text-bound entities whose text still matches the document; the others are stale (the text changed under
   * them, or the .ann belongs to another version of the text): not shown, reported with where they point.
   */
  entities(text: string): { entities: StandoffEntity[]; stale: StandoffEntity[] } {
    const maps = offsetMaps(text);
    const entities: StandoffEntity[] = [];
    const stale: StandoffEntity[] = [];
    for (const line of this.lines) {
      const m = T_LINE.exec(line);
      if (!m) continue;
      const start = maps ? maps.toUnits(Number(m[3])) : Number(m[3]);
      const end = maps ? maps.toUnits(Number(m[4])) : Number(m[4]);
      if (text.slice(start, end) === m[5]) entities.push({ id: m[1], type: m[2], start, end, text: m[5] });
      else stale.push({ id: m[1], type: m[2], start: Math.min(start, text.length), end: Math.min(Math.max(start, end), text.length), text: m[5] });
    }
    return { entities, stale };
  }

  /** Adds a label on text[start, end) and returns its id; a span across a line break is refused (a brat line holds one label). */
  add(text: string, type: string, start: number, end: number): string {
    if (/[\r\n]/.test(text.slice(start, end))) {
      throw new Error('A label cannot cross a line break (a brat .ann file keeps each label on one line): select words within one line.');
    }
    const ids = this.lines.map((l) => /^T(\d+)\t/.exec(l)).filter((m) => m).map((m) => Number(m![1]));
    const id = `T${ids.length ? Math.max(...ids) + 1 : 1}`;
    const maps = offsetMaps(text);
    const cs = maps ? maps.toCodePoints(start) : start;
    const ce = maps ? maps.toCodePoints(end) : end;
    this.write([...this.lines, `${id}\t${type} ${cs} ${ce}\t${text.slice(start, end)}`]);
    return id;
  }

  /**
   * Removes the text-bound annotation `id` (a `T` line). Relations, events, attributes and notes are never
   * removed: one that refers to the label keeps it, and the user is told which (brat would reject a file
   * whose lines refer to a missing id).
   */
  remove(id: string): void {
    const at = this.lines.findIndex((l) => T_LINE.exec(l)?.[1] === id);
    if (at < 0) throw new Error(`There is no label ${id.length > 40 ? `${id.slice(0, 40)}…` : id} in ${path.basename(this.file)}.`);
    const refersTo = new RegExp(`[\\s:]${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![0-9])`);
    const users = this.lines.filter((l, i) => i !== at && !T_LINE.test(l) && refersTo.test(` ${l.split('\t')[1] ?? ''}`));
    if (users.length) {
      const ids = users.map((l) => l.split('\t')[0]);
      throw new Error(`${id} is referred to by ${ids.join(', ')} in ${path.basename(this.file)} (relations, events or notes): remove ${ids.length > 1 ? 'those' : 'that'} first.`);
    }
    this.write(this.lines.filter((_, i) => i !== at));
  }

  private write(lines: string[]): void {
    const disk = this.diskContent();
    if ((disk === '' ? '' : sha(disk)) !== this.readHash) {
      this.read();
      throw new AnnotationConflictError(this.file);
    }
    const content = lines.length ? lines.join('\n') + '\n' : '';
    try {
      writeFileAtomic(this.file, content);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new Error(`${path.basename(this.file)} could not be written (${reason}${reason === 'ENOSPC' || reason === 'EFBIG' || reason === 'EDQUOT' ? ': the disk or quota is full' : ''}); nothing was changed, the labels on disk are as before.`);
    }
    this.lines = lines;
    this.readHash = content === '' ? '' : sha(content);
    this.readStat = this.stat();
  }
}

/** A prediction the user rejected: same type, same words, in the same sentence. */
export interface Rejection {
  type: string;
  text: string;
  sentence: string;
}

/** Rejected predictions per document, kept in the server's storage (they are a view preference, not labels). */
export class RejectionStore {
  /** Keyed by document URI: a Map, so that no URI (`__proto__`) reaches an object's prototype. */
  private readonly byDoc = new Map<string, Rejection[]>();

  constructor(private readonly file: string) {
    try {
      const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
      if (saved && typeof saved === 'object' && !Array.isArray(saved)) {
        for (const [doc, list] of Object.entries(saved)) if (Array.isArray(list)) this.byDoc.set(doc, list as Rejection[]);
      }
    } catch {
      // none saved yet, or unreadable: start empty
    }
  }

  has(doc: string, r: Rejection): boolean {
    return (this.byDoc.get(doc) ?? []).some((x) => x.type === r.type && x.text === r.text && x.sentence === r.sentence);
  }

  add(doc: string, r: Rejection): void {
    if (this.has(doc, r)) return;
    const list = this.byDoc.get(doc) ?? [];
    list.push(r);
    this.byDoc.set(doc, list);
    writeFileAtomic(this.file, JSON.stringify(Object.fromEntries(this.byDoc)) + '\n');
  }
}
