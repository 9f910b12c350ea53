import { Rng } from '../util/random';

export interface PairedComparison {
  /** Mean of a − b over the pairs. */
  meanDifference: number;
  /** Percentile bootstrap interval of that mean. */
  low: number;
  high: number;
  /** Share of resamples in which a's mean beat b's. */
  winRate: number;
  pairs: number;
}

/**
 * Paired bootstrap of the mean difference between two methods scored on the same units (e.g. the same support
 * samples): resample the pairs with replacement `iterations` times and take the (1 − level)/2 and (1 + level)/2
 * percentiles of the mean difference. A difference whose interval covers 0 is not a finding.
 */
export function pairedBootstrap(a: readonly number[], b: readonly number[], iterations = 10_000, level = 0.95, seed = 1): PairedComparison {
  if (a.length !== b.length || a.length === 0) throw new Error(`a paired comparison needs two equally long, non-empty lists (got ${a.length} and ${b.length})`);
  const d = a.map((x, i) => x - b[i]);
  const n = d.length;
  const rng = new Rng(seed);
  const means = new Float64Array(iterations);
  let wins = 0;
  for (let it = 0; it < iterations; it++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += d[rng.int(n)];
    means[it] = s / n;
    if (means[it] > 0) wins++;
  }
  means.sort();
  const at = (q: number) => means[Math.min(iterations - 1, Math.max(0, Math.floor(q * iterations)))];
  return { meanDifference: d.reduce((x, y) => x + y, 0) / n, low: at((1 - level) / 2), high: at((1 + level) / 2), winRate: wins / iterations, pairs: n };
}

/** Percentile bootstrap interval of a mean. */
export function bootstrapMean(xs: readonly number[], iterations = 10_000, level = 0.95, seed = 1): { mean: number; low: number; high: number } {
  const r = pairedBootstrap(xs, xs.map(() => 0), iterations, level, seed);
  return { mean: r.meanDifference, low: r.low, high: r.high };
}
