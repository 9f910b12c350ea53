import * as fs from 'node:fs';
import { writeFileAtomic } from '../io/atomic';
import type { WordVectors } from '../model/features';
import type { EmbeddingOptions, TrainedEmbeddings } from './fasttext';
import { ngramBuckets, normalizeWord } from './subwords';

const MAGIC = 'MBEMB1\n';

interface Header {
  format: 'metabioner-embeddings';
  version: 1;
  dim: number;
  options: EmbeddingOptions;
  words: string[];
  /** Bucket rows kept in the file (those training touched); others are zero. */
  buckets: number[];
}

export class EmbeddingFormatError extends Error {
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'EmbeddingFormatError';
  }
}

/** int8 row quantisation with a per-row scale: 4× smaller than float32 at ~0.4% of each row's range. */
function quantize(src: Float32Array, rows: number[], dim: number): { q: Int8Array; scale: Float32Array } {
  const q = new Int8Array(rows.length * dim);
  const scale = new Float32Array(rows.length);
  rows.forEach((r, k) => {
    let max = 0;
    for (let d = 0; d < dim; d++) max = Math.max(max, Math.abs(src[r * dim + d]));
    const s = max / 127 || 1;
    scale[k] = s;
    for (let d = 0; d < dim; d++) q[k * dim + d] = Math.round(src[r * dim + d] / s);
  });
  return { q, scale };
}

/** Frozen word vectors: in-vocabulary words by table, others from their character n-grams. */
export class EmbeddingTable implements WordVectors {
  private readonly index: Map<string, number>;
  private readonly bucketRow: Map<number, number>;

  private constructor(
    readonly dim: number,
    readonly options: EmbeddingOptions,
    readonly words: string[],
    private readonly wordQ: Int8Array,
    private readonly wordScale: Float32Array,
    private readonly buckets: number[],
    private readonly bucketQ: Int8Array,
    private readonly bucketScale: Float32Array,
  ) {
    this.index = new Map(words.map((w, i) => [w, i]));
    this.bucketRow = new Map(buckets.map((b, i) => [b, i]));
  }

  static fromTrained(t: TrainedEmbeddings): EmbeddingTable {
    const D = t.options.dim;
    const words = quantize(t.wordVectors, [...t.words.keys()], D);
    const used: number[] = [];
    for (let b = 0; b < t.options.buckets; b++) {
      let any = false;
      for (let d = 0; d < D && !any; d++) any = Math.abs(t.bucketVectors[b * D + d]) > 1e-3 / D;
      if (any) used.push(b);
    }
    const buckets = quantize(t.bucketVectors, used, D);
    return new EmbeddingTable(D, t.options, t.words, words.q, words.scale, used, buckets.q, buckets.scale);
  }

  get vocabularySize(): number {
    return this.words.length;
  }

  has(word: string): boolean {
    return this.index.has(normalizeWord(word));
  }

  vectorOf(word: string): Float32Array {
    const D = this.dim;
    const v = new Float32Array(D);
    const norm = normalizeWord(word);
    const i = this.index.get(norm);
    if (i !== undefined) {
      const s = this.wordScale[i];
      for (let d = 0; d < D; d++) v[d] = this.wordQ[i * D + d] * s;
      return v;
    }
    let n = 0;
    for (const b of ngramBuckets(norm, this.options.minN, this.options.maxN, this.options.buckets)) {
      const r = this.bucketRow.get(b);
      if (r === undefined) continue;
      const s = this.bucketScale[r];
      for (let d = 0; d < D; d++) v[d] += this.bucketQ[r * D + d] * s;
      n++;
    }
    if (n > 0) for (let d = 0; d < D; d++) v[d] /= n;
    return v;
  }

  /** The k vocabulary words most similar (cosine) to `word`. */
  nearest(word: string, k: number): { word: string; similarity: number }[] {
    const q = this.vectorOf(word);
    const D = this.dim;
    const qn = Math.hypot(...q) || 1;
    const norm = normalizeWord(word);
    const scored: { word: string; similarity: number }[] = [];
    for (let i = 0; i < this.words.length; i++) {
      if (this.words[i] === norm) continue;
      let dot = 0;
      let nn = 0;
      for (let d = 0; d < D; d++) {
        const x = this.wordQ[i * D + d];
        dot += x * q[d];
        nn += x * x;
      }
      scored.push({ word: this.words[i], similarity: dot / (Math.sqrt(nn) * qn || 1) });
    }
    return scored.sort((a, b) => b.similarity - a.similarity).slice(0, k);
  }

  save(file: string): void {
    const header: Header = { format: 'metabioner-embeddings', version: 1, dim: this.dim, options: this.options, words: this.words, buckets: this.buckets };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const parts = [
      Buffer.from(MAGIC, 'latin1'),
      Buffer.from(new Uint32Array([json.length]).buffer),
      json,
      Buffer.from(this.wordScale.buffer, this.wordScale.byteOffset, this.wordScale.byteLength),
      Buffer.from(this.bucketScale.buffer, this.bucketScale.byteOffset, this.bucketScale.byteLength),
      Buffer.from(this.wordQ.buffer, this.wordQ.byteOffset, this.wordQ.byteLength),
      Buffer.from(this.bucketQ.buffer, this.bucketQ.byteOffset, this.bucketQ.byteLength),
    ];
    writeFileAtomic(file, Buffer.concat(parts));
  }

  static load(file: string): EmbeddingTable {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (err) {
      throw new EmbeddingFormatError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (buf.length < MAGIC.length + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new EmbeddingFormatError(file, 'not a MetaBioNER embeddings file');
    const jsonLen = buf.readUInt32LE(MAGIC.length);
    let off = MAGIC.length + 4;
    if (off + jsonLen > buf.length) throw new EmbeddingFormatError(file, 'truncated header');
    let h: Header;
    try {
      h = JSON.parse(buf.toString('utf8', off, off + jsonLen)) as Header;
    } catch {
      throw new EmbeddingFormatError(file, 'corrupt header');
    }
    if (h.format !== 'metabioner-embeddings' || h.version !== 1) throw new EmbeddingFormatError(file, `unsupported format ${h.format} v${h.version}`);
    off += jsonLen;
    const V = h.words.length;
    const Bk = h.buckets.length;
    const need = off + 4 * (V + Bk) + h.dim * (V + Bk);
    if (buf.length !== need) throw new EmbeddingFormatError(file, `${buf.length} bytes, expected ${need} (truncated or corrupt)`);
    const copy = (start: number, bytes: number) => buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + bytes);
    const wordScale = new Float32Array(copy(off, 4 * V));
    off += 4 * V;
    const bucketScale = new Float32Array(copy(off, 4 * Bk));
    off += 4 * Bk;
    const wordQ = new Int8Array(copy(off, h.dim * V));
    off += h.dim * V;
    const bucketQ = new Int8Array(copy(off, h.dim * Bk));
    return new EmbeddingTable(h.dim, h.options, h.words, wordQ, wordScale, h.buckets, bucketQ, bucketScale);
  }
}
