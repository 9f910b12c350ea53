import * as fs from 'node:fs';
import { writeFileAtomic } from '../io/atomic';
import type { WordVectors } from '../model/features';
import type { EmbeddingOptions, TrainedEmbeddings } from './fasttext';
import { ngramBuckets, normalizeWord } from './subwords';

const MAGIC = 'MBEMB1\n';
const FORMAT = 'metabioner-embeddings';

/**
 * n-gram rows kept on disk, to keep the file under ~8 MB. The corpora's vocabulary touches 115k of the 200k
 * training buckets (a 16 MB file); 40k rows (4.3 MB) keep the buckets shared by the most vocabulary words, which
 * cover ~64% of the n-gram occurrences of the test splits' unknown words (all touched rows: 78%; the 40k busiest
 * by token count instead: 60%). Vocabulary words are unaffected: their full vectors are stored precomputed.
 */
export const DEFAULT_SAVED_BUCKETS = 40_000;

/**
 * File layout (little-endian): MAGIC, u32 header length, UTF-8 JSON header, then
 * version 2: f32 word scales [V], f32 bucket scales [B], u32 bucket ids [B], i8 word rows [V·dim], i8 bucket rows [B·dim];
 * version 1 (still read, e.g. the shipped default model): the bucket ids are in the header, no u32 block, no counts.
 */
interface HeaderV2 {
  format: typeof FORMAT;
  version: 2;
  dim: number;
  options: EmbeddingOptions;
  words: string[];
  counts: number[];
  /** Number of bucket rows stored. */
  buckets: number;
}

interface HeaderV1 {
  format: typeof FORMAT;
  version: 1;
  dim: number;
  options: EmbeddingOptions;
  words: string[];
  buckets: number[];
}

export class EmbeddingFormatError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'EmbeddingFormatError';
  }
}

export interface VocabEntry {
  word: string;
  /** Occurrences in the training text (0 when read from a version-1 file, which did not record them). */
  count: number;
}

/** int8 row quantisation with a per-row scale: 4× smaller than float32, each value within scale/2 = max|row|/254. */
function quantize(src: Float32Array, rows: ArrayLike<number>, dim: number): { q: Int8Array; scale: Float32Array } {
  const q = new Int8Array(rows.length * dim);
  const scale = new Float32Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const base = rows[k] * dim;
    let max = 0;
    for (let d = 0; d < dim; d++) max = Math.max(max, Math.abs(src[base + d]));
    const s = max / 127 || 1;
    scale[k] = s;
    for (let d = 0; d < dim; d++) q[k * dim + d] = Math.round(src[base + d] / s);
  }
  return { q, scale };
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

/** Frozen word vectors: in-vocabulary words by table, others from their character n-grams. */
export class EmbeddingTable implements WordVectors {
  /** The normalised vocabulary words with their training counts, most frequent first. */
  readonly vocab: readonly VocabEntry[];
  private readonly index: Map<string, number>;
  private readonly bucketRow: Map<number, number>;
  private norms: Float32Array | undefined;

  private constructor(
    readonly dim: number,
    readonly options: EmbeddingOptions,
    readonly words: readonly string[],
    counts: readonly number[],
    private readonly wordQ: Int8Array,
    private readonly wordScale: Float32Array,
    private readonly bucketIds: Uint32Array,
    private readonly bucketQ: Int8Array,
    private readonly bucketScale: Float32Array,
  ) {
    this.vocab = words.map((word, i) => ({ word, count: counts[i] }));
    this.index = new Map(words.map((w, i) => [w, i]));
    this.bucketRow = new Map(Array.from(bucketIds, (b, i) => [b, i]));
  }

  /**
   * Quantises trained vectors. Of the n-gram buckets, only those some vocabulary word trained are kept, at most
   * `maxBuckets` of them: the ones shared by the most vocabulary words.
   */
  static fromTrained(t: TrainedEmbeddings, opts: { maxBuckets?: number } = {}): EmbeddingTable {
    const D = t.options.dim;
    const maxBuckets = opts.maxBuckets ?? DEFAULT_SAVED_BUCKETS;
    const touched: number[] = [];
    for (let b = 0; b < t.bucketWords.length; b++) if (t.bucketWords[b] > 0) touched.push(b);
    touched.sort((a, b) => t.bucketWords[b] - t.bucketWords[a] || a - b);
    const kept = Uint32Array.from(touched.slice(0, maxBuckets)).sort();
    const words = quantize(t.wordVectors, Int32Array.from(t.words.keys()), D);
    const buckets = quantize(t.bucketVectors, kept, D);
    return new EmbeddingTable(D, t.options, t.words, t.counts, words.q, words.scale, kept, buckets.q, buckets.scale);
  }

  get vocabularySize(): number {
    return this.words.length;
  }

  /** Bytes of the vectors held (int8 rows and their float32 scales; the vocabulary's strings not counted). */
  get byteLength(): number {
    return this.wordQ.byteLength + this.wordScale.byteLength + this.bucketIds.byteLength + this.bucketQ.byteLength + this.bucketScale.byteLength + (this.norms?.byteLength ?? 0);
  }

  /** n-gram rows held for unknown words. */
  get bucketRows(): number {
    return this.bucketIds.length;
  }

  has(word: string): boolean {
    return this.index.has(normalizeWord(word));
  }

  /**
   * A vocabulary word's stored vector; for any other word the mean of its known n-gram rows (as fastText
   * does for unknown words); the zero vector when none of its n-grams is known. Case and digits are folded
   * first, exactly as in training.
   */
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

  /** The k vocabulary words most similar (cosine) to `word`, which may be unknown; the word itself is left out. */
  nearest(word: string, k: number): { word: string; similarity: number }[] {
    const D = this.dim;
    const q = this.vectorOf(word);
    let qq = 0;
    for (let d = 0; d < D; d++) qq += q[d] * q[d];
    if (qq === 0 || k <= 0) return [];
    if (!this.norms) {
      this.norms = new Float32Array(this.words.length);
      for (let i = 0; i < this.words.length; i++) {
        let nn = 0;
        for (let d = 0; d < D; d++) nn += this.wordQ[i * D + d] * this.wordQ[i * D + d];
        this.norms[i] = Math.sqrt(nn);
      }
    }
    const self = this.index.get(normalizeWord(word));
    const qn = Math.sqrt(qq);
    // Best k so far, in descending order of similarity.
    const best: { word: string; similarity: number }[] = [];
    for (let i = 0; i < this.words.length; i++) {
      if (i === self || this.norms[i] === 0) continue;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += this.wordQ[i * D + d] * q[d];
      const similarity = dot / (this.norms[i] * qn);
      if (best.length === k && similarity <= best[k - 1].similarity) continue;
      let at = best.length === k ? k - 1 : best.length;
      while (at > 0 && best[at - 1].similarity < similarity) at--;
      best.splice(at, 0, { word: this.words[i], similarity });
      if (best.length > k) best.pop();
    }
    return best;
  }

  /** Writes the table atomically (a temporary sibling renamed into place). */
  save(file: string): void {
    const header: HeaderV2 = {
      format: FORMAT,
      version: 2,
      dim: this.dim,
      options: this.options,
      words: [...this.words],
      counts: this.vocab.map((e) => e.count),
      buckets: this.bucketIds.length,
    };
    const json = Buffer.from(JSON.stringify(header), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length);
    const bytes = (a: Float32Array | Uint32Array | Int8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    writeFileAtomic(
      file,
      Buffer.concat([
        Buffer.from(MAGIC, 'latin1'),
        len,
        json,
        bytes(this.wordScale),
        bytes(this.bucketScale),
        bytes(this.bucketIds),
        bytes(this.wordQ),
        bytes(this.bucketQ),
      ]),
    );
  }

  /** Reads a table written by `save`; a damaged or truncated file throws an EmbeddingFormatError naming it. */
  static load(file: string): EmbeddingTable {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch (err) {
      throw new EmbeddingFormatError(file, `cannot read word vectors (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const fail = (problem: string): never => {
      throw new EmbeddingFormatError(file, problem);
    };
    if (buf.length < MAGIC.length + 4 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC) fail('not a MetaBioNER embeddings file (bad magic bytes)');
    const jsonLen = buf.readUInt32LE(MAGIC.length);
    let off = MAGIC.length + 4;
    if (off + jsonLen > buf.length) fail(`truncated: the header says ${jsonLen} bytes of JSON but the file has ${buf.length - off} after the magic`);
    let h: HeaderV1 | HeaderV2;
    try {
      h = JSON.parse(buf.toString('utf8', off, off + jsonLen)) as HeaderV1 | HeaderV2;
    } catch (err) {
      return fail(`corrupt header (invalid JSON: ${(err as Error).message})`);
    }
    off += jsonLen;
    if (typeof h !== 'object' || h === null || h.format !== FORMAT) return fail('corrupt header (not a metabioner-embeddings header)');
    if (h.version !== 1 && h.version !== 2) return fail(`unsupported format version ${String((h as { version: unknown }).version)} (this build reads 1 and 2)`);
    const o = h.options;
    if (!Number.isInteger(h.dim) || h.dim < 1 || h.dim > 4096) fail(`corrupt header (dim ${h.dim})`);
    if (typeof o !== 'object' || o === null || o.dim !== h.dim || ![o.minN, o.maxN, o.buckets].every((x) => Number.isInteger(x) && x > 0)) fail('corrupt header (options)');
    if (!Array.isArray(h.words) || !h.words.every((w) => typeof w === 'string')) fail('corrupt header (words)');
    const D = h.dim;
    const V = h.words.length;
    let counts: number[];
    let ids: Uint32Array | undefined;
    let B: number;
    if (h.version === 1) {
      if (!Array.isArray(h.buckets) || !h.buckets.every(isCount)) return fail('corrupt header (bucket ids)');
      counts = new Array<number>(V).fill(0);
      ids = Uint32Array.from(h.buckets);
      B = ids.length;
    } else {
      if (!Array.isArray(h.counts) || h.counts.length !== V || !h.counts.every(isCount)) return fail('corrupt header (counts)');
      if (!isCount(h.buckets)) return fail('corrupt header (bucket count)');
      counts = h.counts;
      B = h.buckets;
    }
    const need = off + 4 * (V + B) + (h.version === 2 ? 4 * B : 0) + D * (V + B);
    if (buf.length < need) fail(`truncated: ${buf.length} bytes, expected ${need} for ${V} words and ${B} n-gram rows of ${D} dims`);
    if (buf.length > need) fail(`corrupt: ${buf.length} bytes, expected ${need} for ${V} words and ${B} n-gram rows of ${D} dims`);
    // Copies, so that every typed array is aligned whatever the header length.
    const take = (bytes: number): ArrayBuffer => {
      const ab = new ArrayBuffer(bytes);
      new Uint8Array(ab).set(buf.subarray(off, off + bytes));
      off += bytes;
      return ab;
    };
    const wordScale = new Float32Array(take(4 * V));
    const bucketScale = new Float32Array(take(4 * B));
    if (h.version === 2) ids = new Uint32Array(take(4 * B));
    const wordQ = new Int8Array(take(D * V));
    const bucketQ = new Int8Array(take(D * B));
    for (const s of [wordScale, bucketScale]) for (const x of s) if (!(Number.isFinite(x) && x >= 0)) fail(`corrupt: a row scale is ${x}`);
    const bucketIds = ids as Uint32Array;
    for (let i = 0; i < B; i++) {
      if (bucketIds[i] >= o.buckets || (i > 0 && bucketIds[i] <= bucketIds[i - 1])) fail(`corrupt: n-gram row ${i} has bucket id ${bucketIds[i]} (ids must rise, below ${o.buckets})`);
    }
    return new EmbeddingTable(D, o, h.words, counts, wordQ, wordScale, bucketIds, bucketQ, bucketScale);
  }
}
