import { ngramBuckets, normalizeWord } from './subwords';

/** Skip-gram with negative sampling over words and their character n-grams (fastText), in plain JS. */
export interface EmbeddingOptions {
  dim: number;
  window: number;
  negatives: number;
  epochs: number;
  minCount: number;
  minN: number;
  maxN: number;
  buckets: number;
  lr: number;
  /** Frequent-word subsampling threshold (0: keep every word). */
  sample: number;
  seed: number;
}

export const DEFAULT_EMBEDDING_OPTIONS: EmbeddingOptions = {
  dim: 100,
  window: 5,
  negatives: 5,
  epochs: 5,
  minCount: 2,
  minN: 3,
  maxN: 6,
  buckets: 50_000,
  lr: 0.05,
  sample: 1e-4,
  seed: 1,
};

export interface TrainedEmbeddings {
  options: EmbeddingOptions;
  words: string[];
  counts: number[];
  /** Full vectors of the vocabulary words (word vector and its n-grams averaged), words × dim. */
  wordVectors: Float32Array;
  /** n-gram bucket vectors, buckets × dim, for words outside the vocabulary. */
  bucketVectors: Float32Array;
}

export type EmbeddingProgress = (fraction: number, wordsPerSecond: number) => void;

/** xorshift32: the inner loop draws millions of numbers, so it avoids a function call per draw. */
class FastRandom {
  constructor(private s: number) {
    if (this.s === 0) this.s = 0x9e3779b9;
  }
  nextU32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  next(): number {
    return this.nextU32() / 4294967296;
  }
}

export async function trainEmbeddings(sentences: readonly (readonly string[])[], options: Partial<EmbeddingOptions> = {}, onProgress?: EmbeddingProgress): Promise<TrainedEmbeddings> {
  const o = { ...DEFAULT_EMBEDDING_OPTIONS, ...options };
  const D = o.dim;
  // Vocabulary of normalised words.
  const countMap = new Map<string, number>();
  for (const s of sentences) for (const w of s) {
    const n = normalizeWord(w);
    countMap.set(n, (countMap.get(n) ?? 0) + 1);
  }
  const vocab = [...countMap.entries()].filter(([, c]) => c >= o.minCount).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const words = vocab.map(([w]) => w);
  const counts = vocab.map(([, c]) => c);
  const V = words.length;
  const index = new Map(words.map((w, i) => [w, i]));
  // Each word's input rows: itself, then its n-gram buckets (offset by V).
  const compStart = new Int32Array(V + 1);
  const compList: number[] = [];
  for (let i = 0; i < V; i++) {
    compStart[i] = compList.length;
    compList.push(i);
    for (const b of ngramBuckets(words[i], o.minN, o.maxN, o.buckets)) compList.push(V + b);
  }
  compStart[V] = compList.length;
  const comps = Int32Array.from(compList);
  const corpus: Int32Array[] = sentences.map((s) => Int32Array.from(s.map((w) => index.get(normalizeWord(w)) ?? -1).filter((id) => id >= 0)));
  const totalWords = corpus.reduce((n, s) => n + s.length, 0);

  const rng = new FastRandom(o.seed * 2654435761);
  const inp = new Float32Array((V + o.buckets) * D);
  for (let k = 0; k < inp.length; k++) inp[k] = (rng.next() - 0.5) / D;
  const out = new Float32Array(V * D);
  // Unigram^0.75 table for negatives.
  const TABLE = 10_000_000;
  const table = new Int32Array(Math.min(TABLE, Math.max(1000, totalWords * 2)));
  let z = 0;
  for (const c of counts) z += Math.pow(c, 0.75);
  let w = 0;
  let cumulative = Math.pow(counts[0] ?? 1, 0.75) / z;
  for (let k = 0; k < table.length; k++) {
    table[k] = w;
    if (k / table.length > cumulative && w < V - 1) {
      w++;
      cumulative += Math.pow(counts[w], 0.75) / z;
    }
  }
  const keepProb = new Float32Array(V);
  for (let i = 0; i < V; i++) {
    const f = counts[i] / totalWords;
    keepProb[i] = o.sample > 0 ? Math.min(1, Math.sqrt(o.sample / f) + o.sample / f) : 1;
  }

  const hidden = new Float32Array(D);
  const grad = new Float32Array(D);
  const total = o.epochs * totalWords;
  let processed = 0;
  const started = Date.now();
  let lastYield = Date.now();
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (const sent of corpus) {
      const L = sent.length;
      for (let i = 0; i < L; i++) {
        processed++;
        const center = sent[i];
        if (keepProb[center] < rng.next()) continue;
        const lr = o.lr * Math.max(1e-4, 1 - processed / total);
        const c0 = compStart[center];
        const c1 = compStart[center + 1];
        const nc = c1 - c0;
        const win = 1 + (rng.nextU32() % o.window);
        for (let j = Math.max(0, i - win); j <= Math.min(L - 1, i + win); j++) {
          if (j === i) continue;
          hidden.fill(0);
          for (let k = c0; k < c1; k++) {
            const row = comps[k] * D;
            for (let d = 0; d < D; d++) hidden[d] += inp[row + d];
          }
          for (let d = 0; d < D; d++) hidden[d] /= nc;
          grad.fill(0);
          for (let n = 0; n <= o.negatives; n++) {
            let target: number;
            let label: number;
            if (n === 0) {
              target = sent[j];
              label = 1;
            } else {
              target = table[rng.nextU32() % table.length];
              if (target === sent[j]) continue;
              label = 0;
            }
            const row = target * D;
            let dot = 0;
            for (let d = 0; d < D; d++) dot += hidden[d] * out[row + d];
            const sig = dot > 8 ? 1 : dot < -8 ? 0 : 1 / (1 + Math.exp(-dot));
            const g = (label - sig) * lr;
            for (let d = 0; d < D; d++) {
              grad[d] += g * out[row + d];
              out[row + d] += g * hidden[d];
            }
          }
          for (let k = c0; k < c1; k++) {
            const row = comps[k] * D;
            for (let d = 0; d < D; d++) inp[row + d] += grad[d];
          }
        }
      }
      if (Date.now() - lastYield > 200) {
        lastYield = Date.now();
        onProgress?.(processed / total, processed / Math.max(1e-3, (Date.now() - started) / 1000));
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }
  onProgress?.(1, processed / Math.max(1e-3, (Date.now() - started) / 1000));
  const wordVectors = new Float32Array(V * D);
  for (let i = 0; i < V; i++) {
    const c0 = compStart[i];
    const c1 = compStart[i + 1];
    for (let k = c0; k < c1; k++) {
      const row = comps[k] * D;
      for (let d = 0; d < D; d++) wordVectors[i * D + d] += inp[row + d] / (c1 - c0);
    }
  }
  return { options: o, words, counts, wordVectors, bucketVectors: inp.slice(V * D) };
}
