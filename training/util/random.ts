/** Seeded PRNG (mulberry32): every random choice in training goes through one of these, so runs repeat. */
export class Rng {
  private state_: number;

  constructor(seed: number) {
    this.state_ = seed >>> 0;
  }

  /** The generator's whole state, for checkpoints: `new Rng(rng.state)` continues the same sequence. */
  get state(): number {
    return this.state_;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state_ = (this.state_ + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A fresh 31-bit seed, e.g. for a TensorFlow.js op that takes one. */
  seed(): number {
    return Math.floor(this.next() * 2147483647);
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** k distinct indices from [0, n), in random order. */
  sample(n: number, k: number): number[] {
    return this.shuffle([...Array(n).keys()]).slice(0, Math.min(k, n));
  }
}
