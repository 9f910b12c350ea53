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

/** Labels must be usable as brat types and CoNLL tags. */
export function checkLabel(type: unknown): string {
  if (typeof type !== 'string' || !/^[A-Za-z0-9][\w./+-]*$/.test(type) || type === 'O') {
    throw new Error(`"${String(type)}" is not a usable label: letters, digits and _ . / + - only, no spaces, not "O".`);
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
      return fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
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

  /** Text-bound entities whose text still matches the document; the others are reported as stale. */
  entities(text: string): { entities: StandoffEntity[]; stale: string[] } {
    const maps = offsetMaps(text);
    const entities: StandoffEntity[] = [];
    const stale: string[] = [];
    for (const line of this.lines) {
      const m = T_LINE.exec(line);
      if (!m) continue;
      const start = maps ? maps.toUnits(Number(m[3])) : Number(m[3]);
      const end = maps ? maps.toUnits(Number(m[4])) : Number(m[4]);
      if (text.slice(start, end) === m[5]) entities.push({ id: m[1], type: m[2], start, end, text: m[5] });
      else stale.push(m[1]);
    }
    return { entities, stale };
  }

  add(text: string, type: string, start: number, end: number): string {
    const ids = this.lines.map((l) => /^T(\d+)\t/.exec(l)).filter((m) => m).map((m) => Number(m![1]));
    const id = `T${ids.length ? Math.max(...ids) + 1 : 1}`;
    const maps = offsetMaps(text);
    const cs = maps ? maps.toCodePoints(start) : start;
    const ce = maps ? maps.toCodePoints(end) : end;
    this.write([...this.lines, `${id}\t${type} ${cs} ${ce}\t${text.slice(start, end)}`]);
    return id;
  }

  remove(id: string): void {
    const kept = this.lines.filter((l) => !l.startsWith(`${id}\t`));
    if (kept.length === this.lines.length) throw new Error(`There is no label ${id} in ${path.basename(this.file)}.`);
    this.write(kept);
  }

  private write(lines: string[]): void {
    const disk = this.diskContent();
    if ((disk === '' ? '' : sha(disk)) !== this.readHash) {
      this.read();
      throw new AnnotationConflictError(this.file);
    }
    const content = lines.length ? lines.join('\n') + '\n' : '';
    writeFileAtomic(this.file, content);
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
  private byDoc: Record<string, Rejection[]> = {};

  constructor(private readonly file: string) {
    try {
      this.byDoc = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, Rejection[]>;
    } catch {
      this.byDoc = {};
    }
  }

  has(doc: string, r: Rejection): boolean {
    return (this.byDoc[doc] ?? []).some((x) => x.type === r.type && x.text === r.text && x.sentence === r.sentence);
  }

  add(doc: string, r: Rejection): void {
    if (this.has(doc, r)) return;
    (this.byDoc[doc] ??= []).push(r);
    writeFileAtomic(this.file, JSON.stringify(this.byDoc) + '\n');
  }
}
