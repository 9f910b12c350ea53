import { ngramBuckets, normalizeWord } from './subwords';

/**
 * Skip-gram with negative sampling over words and their character n-grams (fastText, Bojanowski et al. 2017),
 * in plain JS over Float32Arrays: each step reads and writes ~20 scattered rows, which dense tensor ops do poorly.
 */
export interface EmbeddingOptions {
  dim: number;
  /** Largest context distance; each centre word draws its own window in 1..window, as word2vec does. */
  window: number;
  negatives: number;
  epochs: number;
  /** Least frequency of a vocabulary word (rarer words are treated as unknown and get n-gram vectors). */
  minCount: number;
  minN: number;
  maxN: number;
  /** Hash buckets of the n-gram table during training (the saved file keeps only the most shared ones). */
  buckets: number;
  /** Initial learning rate, decayed linearly to 0 over all epochs. */
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
  // The corpora's vocabulary has ~171k distinct n-grams: 200k buckets spread them over 115k rows (~1.5 per
  // row) where 50k crammed ~3.5 unrelated n-grams into every row. Size on disk is bounded separately (store.ts).
  buckets: 200_000,
  lr: 0.05,
  sample: 1e-4,
  seed: 1,
};

export interface TrainedEmbeddings {
  options: EmbeddingOptions;
  /** Normalised vocabulary words, most frequent first. */
  words: string[];
  counts: number[];
  /** Full vectors of the vocabulary words (the mean of the word's own row and its n-gram rows), words × dim. */
  wordVectors: Float32Array;
  /** n-gram bucket vectors, buckets × dim, for words outside the vocabulary. */
  bucketVectors: Float32Array;
  /** Per bucket, how many vocabulary words have an n-gram in it (0: never trained). */
  bucketWords: Uint32Array;
  /** Tokens of the text (every occurrence, before subsampling) and the wall-clock seconds training took. */
  tokens: number;
  seconds: number;
}

export type EmbeddingProgress = (fraction: number, wordsPerSecond: number) => void;

/** xorshift32: the inner loop draws millions of numbers, so it avoids a function call per draw. */
class FastRandom {
  private s: number;
  constructor(seed: number) {
    this.s = Math.imul(seed | 0, 2654435761) >>> 0 || 0x9e3779b9;
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

function checkOptions(o: EmbeddingOptions): void {
  const ints: (keyof EmbeddingOptions)[] = ['dim', 'window', 'negatives', 'epochs', 'minCount', 'minN', 'maxN', 'buckets'];
  for (const k of ints) if (!Number.isInteger(o[k]) || o[k] < (k === 'negatives' ? 0 : 1)) throw new Error(`embedding option ${k} must be a positive integer, got ${o[k]}`);
  if (o.maxN < o.minN) throw new Error(`embedding option maxN (${o.maxN}) is below minN (${o.minN})`);
  if (!(o.lr > 0) || !(o.sample >= 0)) throw new Error(`embedding options need lr > 0 and sample >= 0 (got ${o.lr}, ${o.sample})`);
}

/**
 * Trains word vectors on `sentences` (raw tokens; they are normalised here as `normalizeWord` says).
 * The same sentences, options and seed give bit-identical vectors.
 */
export async function trainEmbeddings(
  sentences: readonly (readonly string[])[],
  options: Partial<EmbeddingOptions> = {},
  onProgress?: EmbeddingProgress,
): Promise<TrainedEmbeddings> {
  const o: EmbeddingOptions = { ...DEFAULT_EMBEDDING_OPTIONS, ...options };
  checkOptions(o);
  const started = Date.now();
  const D = o.dim;

  // Vocabulary of normalised words, most frequent first (ties alphabetical, so the order is reproducible).
  const countMap = new Map<string, number>();
  for (const s of sentences) {
    for (const w of s) {
      const n = normalizeWord(w);
      countMap.set(n, (countMap.get(n) ?? 0) + 1);
    }
  }
  const vocab = [...countMap.entries()].filter(([, c]) => c >= o.minCount).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const words = vocab.map(([w]) => w);
  const counts = vocab.map(([, c]) => c);
  const V = words.length;
  if (V === 0) throw new Error(`no word occurs ${o.minCount} times or more in the ${sentences.length} sentences: nothing to train`);
  const index = new Map(words.map((w, i) => [w, i]));

  // Each word's input rows: itself, then its n-gram buckets (offset by V).
  const bucketWords = new Uint32Array(o.buckets);
  const compStart = new Int32Array(V + 1);
  const compList: number[] = [];
  for (let i = 0; i < V; i++) {
    compStart[i] = compList.length;
    compList.push(i);
    const bs = ngramBuckets(words[i], o.minN, o.maxN, o.buckets);
    for (const b of bs) compList.push(V + b);
    for (const b of new Set(bs)) bucketWords[b]++;
  }
  compStart[V] = compList.length;
  const comps = Int32Array.from(compList);

  // The text as vocabulary ids; unknown words are dropped, as fastText does.
  const corpus: Int32Array[] = [];
  let maxLen = 0;
  let tokens = 0;
  for (const s of sentences) {
    tokens += s.length;
    const ids: number[] = [];
    for (const w of s) {
      const id = index.get(normalizeWord(w));
      if (id !== undefined) ids.push(id);
    }
    if (ids.length > 1) corpus.push(Int32Array.from(ids));
    maxLen = Math.max(maxLen, ids.length);
  }
  const totalWords = corpus.reduce((n, s) => n + s.length, 0);

  const rng = new FastRandom(o.seed);
  const inp = new Float32Array((V + o.buckets) * D);
  for (let k = 0; k < inp.length; k++) inp[k] = (rng.next() * 2 - 1) / D;
  const out = new Float32Array(V * D);

  // Negatives drawn from unigram^0.75, through a lookup table as word2vec and fastText do.
  const table = new Int32Array(Math.min(10_000_000, Math.max(1000, totalWords * 2)));
  {
    let z = 0;
    for (const c of counts) z += Math.pow(c, 0.75);
    let w = 0;
    let cumulative = Math.pow(counts[0], 0.75) / z;
    for (let k = 0; k < table.length; k++) {
      table[k] = w;
      if ((k + 1) / table.length > cumulative && w < V - 1) {
        w++;
        cumulative += Math.pow(counts[w], 0.75) / z;
      }
    }
  }
  const tableSize = table.length;
  // Subsampling (Mikolov et al. 2013, fastText's formula): a word of frequency f is kept with sqrt(t/f) + t/f.
  const keepProb = new Float32Array(V);
  for (let i = 0; i < V; i++) {
    const f = counts[i] / totalWords;
    keepProb[i] = o.sample > 0 ? Math.min(1, Math.sqrt(o.sample / f) + o.sample / f) : 1;
  }

  const hidden = new Float32Array(D);
  const grad = new Float32Array(D);
  const line = new Int32Array(maxLen);
  const total = o.epochs * totalWords;
  const negatives = o.negatives;
  const window = o.window;
  let processed = 0;
  let lastYield = Date.now();
  const report = () => onProgress?.(processed / total, processed / Math.max(1e-3, (Date.now() - started) / 1000));
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (const sent of corpus) {
      // Subsampled words leave the line before windows are drawn, so contexts reach past frequent words.
      let L = 0;
      for (let i = 0; i < sent.length; i++) if (keepProb[sent[i]] >= rng.next()) line[L++] = sent[i];
      const lr = o.lr * Math.max(0, 1 - processed / total);
      processed += sent.length;
      for (let i = 0; i < L; i++) {
        const center = line[i];
        const c0 = compStart[center];
        const c1 = compStart[center + 1];
        const inv = 1 / (c1 - c0);
        const win = 1 + (rng.nextU32() % window);
        const j0 = Math.max(0, i - win);
        const j1 = Math.min(L - 1, i + win);
        for (let j = j0; j <= j1; j++) {
          if (j === i) continue;
          // Hidden layer: the mean of the centre word's rows (recomputed per context, as fastText does).
          hidden.fill(0);
          for (let k = c0; k < c1; k++) {
            const row = comps[k] * D;
            for (let d = 0; d < D; d++) hidden[d] += inp[row + d];
          }
          for (let d = 0; d < D; d++) hidden[d] *= inv;
          grad.fill(0);
          const context = line[j];
          for (let n = 0; n <= negatives; n++) {
            let target: number;
            let label: number;
            if (n === 0) {
              target = context;
              label = 1;
            } else {
              target = table[rng.nextU32() % tableSize];
              if (target === context) continue;
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
          // fastText adds the whole gradient to every input row of the word (no 1/rows for skip-gram).
          for (let k = c0; k < c1; k++) {
            const row = comps[k] * D;
            for (let d = 0; d < D; d++) inp[row + d] += grad[d];
          }
        }
      }
      if (Date.now() - lastYield > 250) {
        report();
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = Date.now();
      }
    }
  }
  report();

  const wordVectors = new Float32Array(V * D);
  for (let i = 0; i < V; i++) {
    const c0 = compStart[i];
    const c1 = compStart[i + 1];
    const inv = 1 / (c1 - c0);
    for (let k = c0; k < c1; k++) {
      const row = comps[k] * D;
      for (let d = 0; d < D; d++) wordVectors[i * D + d] += inp[row + d] * inv;
    }
  }
  return {
    options: o,
    words,
    counts,
    wordVectors,
    bucketVectors: inp.slice(V * D),
    bucketWords,
    tokens,
    seconds: (Date.now() - started) / 1000,
  };
}
