import type { WordVectors } from '../../training/model/features';
import { Rng } from '../../training/util/random';

/** Deterministic per-word vectors for model-level tests that need no trained embeddings. */
export class HashedVectors implements WordVectors {
  constructor(readonly dim: number) {}

  vectorOf(word: string): Float32Array {
    let h = 2166136261;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619);
    const rng = new Rng(h >>> 0);
    return Float32Array.from({ length: this.dim }, () => rng.next() - 0.5);
  }
}
