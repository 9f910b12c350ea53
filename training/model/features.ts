import { CharVocab } from './vocab';

/** Where word vectors come from: the frozen corpus-trained embeddings (with sub-word fallback for OOV). */
export interface WordVectors {
  readonly dim: number;
  vectorOf(word: string): Float32Array;
}

/**
 * A padded mini-batch on the CPU side, in the layouts the model's ops take.
 * Sentences keep their order; T is the longest sentence, Lc the longest word (capped).
 */
export interface Batch {
  B: number;
  T: number;
  Lc: number;
  lengths: Int32Array;
  /** [B, T, wordDim] word vectors, zero at padding. */
  words: Float32Array;
  /**
   * Distinct words of the batch: the char-CNN runs once per word type, not per token (a batch of 32
   * sentences has ~3× fewer types than token positions, and padding positions cost nothing).
   */
  U: number;
  /** [B*T] index into the distinct words (0 at padding). */
  tokenWord: Int32Array;
  /** [U*Lc] char ids, 0 at padding. */
  chars: Int32Array;
  /** [U*Lc] 1 where a char id is real. */
  charPresent: Float32Array;
  /** [U*Lc] 0 where a char position is real, a large negative number where it is padding (for the max-pool). */
  charPoolMask: Float32Array;
  /** [B*T] 1 for real tokens. */
  tokenMask: Float32Array;
}

const POOL_MASK = -1e4;

export class Featurizer {
  private readonly cache = new Map<string, Float32Array>();

  constructor(
    readonly words: WordVectors,
    readonly chars: CharVocab,
    readonly maxWordChars: number,
  ) {}

  /** Words whose vectors are cached (float32, `words.dim` each). */
  get cachedWords(): number {
    return this.cache.size;
  }

  private wordVector(word: string): Float32Array {
    let v = this.cache.get(word);
    if (!v) {
      v = this.words.vectorOf(word);
      // The cache only speeds up repeated words; bound it so a huge document cannot grow it without limit.
      if (this.cache.size > 200_000) this.cache.clear();
      this.cache.set(word, v);
    }
    return v;
  }

  batch(sentences: readonly (readonly string[])[]): Batch {
    const B = sentences.length;
    const T = Math.max(1, ...sentences.map((s) => s.length));
    let Lc = 1;
    for (const s of sentences) for (const w of s) Lc = Math.max(Lc, Math.min([...w].length, this.maxWordChars));
    const D = this.words.dim;
    const lengths = new Int32Array(B);
    const words = new Float32Array(B * T * D);
    const tokenMask = new Float32Array(B * T);
    const tokenWord = new Int32Array(B * T);
    const uniq = new Map<string, number>();
    for (let b = 0; b < B; b++) {
      const s = sentences[b];
      lengths[b] = s.length;
      for (let t = 0; t < s.length; t++) {
        const pos = b * T + t;
        tokenMask[pos] = 1;
        words.set(this.wordVector(s[t]), pos * D);
        let u = uniq.get(s[t]);
        if (u === undefined) uniq.set(s[t], (u = uniq.size));
        tokenWord[pos] = u;
      }
    }
    const U = Math.max(1, uniq.size);
    const chars = new Int32Array(U * Lc);
    const charPresent = new Float32Array(U * Lc);
    const charPoolMask = new Float32Array(U * Lc).fill(POOL_MASK);
    for (const [word, u] of uniq) {
      const cps = [...word];
      // Long chemical names: keep both ends, where the informative affixes are.
      const kept = cps.length <= Lc ? cps : [...cps.slice(0, Math.ceil(Lc / 2)), ...cps.slice(cps.length - Math.floor(Lc / 2))];
      for (let j = 0; j < kept.length; j++) {
        chars[u * Lc + j] = this.chars.idOf(kept[j]);
        charPresent[u * Lc + j] = 1;
        charPoolMask[u * Lc + j] = 0;
      }
    }
    return { B, T, Lc, lengths, words, U, tokenWord, chars, charPresent, charPoolMask, tokenMask };
  }
}

/** Tag ids in the batch layout [B*T] (0 at padding). */
export function tagIdsOf(tags: readonly (readonly number[])[], T: number): Int32Array {
  const out = new Int32Array(tags.length * T);
  tags.forEach((row, b) => out.set(row, b * T));
  return out;
}
