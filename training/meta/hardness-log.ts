import * as fs from 'node:fs';
import type { Sentence } from '../data/types';
import type { HardnessRecord, QueryStats } from './meta-train';

/**
 * A hardness log: one JSON line per meta-iteration with each task's corpus, query-set statistics, losses and
 * weights γ. Support sentences are kept only at `detailed` iterations (at 10,000 iterations of K = 100 they
 * would make the log gigabytes), enough for the paper's Table 4 examples.
 */
export interface HardnessLine {
  iteration: number;
  tasks: {
    corpus: string;
    domain: string;
    query: QueryStats;
    labelLoss: number;
    criticLoss: number;
    /** γ^θ and γ^φ of the task (they sum to 1 over the iteration's tasks). */
    theta: number;
    phi: number;
    support?: Pick<Sentence, 'tokens' | 'tags'>[];
  }[];
}

/** Iterations whose support sentences a log keeps: 1–10, then 20, 50, 100, 200, 500, 1000, … and every 1000th. */
export function detailedIteration(it: number): boolean {
  if (it <= 10 || it % 1000 === 0) return true;
  const scale = 10 ** Math.floor(Math.log10(it));
  return it % scale === 0 && [1, 2, 5].includes(it / scale);
}

export function hardnessLine(r: HardnessRecord, withSupport = detailedIteration(r.iteration)): HardnessLine {
  return {
    iteration: r.iteration,
    tasks: r.tasks.map((t, i) => ({
      corpus: t.corpus,
      domain: t.domain,
      query: t.query,
      labelLoss: t.labelLoss,
      criticLoss: t.criticLoss,
      theta: r.weights.theta[i],
      phi: r.weights.phi[i],
      ...(withSupport ? { support: t.support } : {}),
    })),
  };
}

/**
 * The iterations of a log in order, the last line of each kept (a run resumed from a checkpoint logs again the
 * iterations after it). Lines in the full HardnessRecord form (`weights`, every support set) are read too.
 */
export function readHardnessLog(file: string): HardnessLine[] {
  const byIteration = new Map<number, HardnessLine>();
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!raw.trim()) continue;
    let parsed: HardnessLine | HardnessRecord;
    try {
      parsed = JSON.parse(raw) as HardnessLine | HardnessRecord;
    } catch {
      continue; // a line cut short by a kill
    }
    const line = 'weights' in parsed ? hardnessLine(parsed as HardnessRecord, true) : parsed;
    byIteration.set(line.iteration, line);
  }
  return [...byIteration.values()].sort((a, b) => a.iteration - b.iteration);
}

/** Query sets by entity count, for the table of who gets the weight. */
export const ENTITY_BUCKETS: readonly { label: string; min: number; max: number }[] = [
  { label: '0 entities', min: 0, max: 0 },
  { label: '1–2', min: 1, max: 2 },
  { label: '3–5', min: 3, max: 5 },
  { label: '6+', min: 6, max: Infinity },
];

export interface HardnessWindow {
  from: number;
  to: number;
  tasks: number;
  /** Mean over the window's iterations of (largest − smallest) relative weight n·γ^θ (0 = uniform). */
  spread: number;
  /** Pearson correlation of n·γ^θ with the query set's entity tokens, over the window's tasks. */
  corrEntityTokens: number;
  /** Mean n·γ^θ of the tasks in each entity bucket (NaN when none fell in it). */
  byBucket: number[];
  /** Mean n·γ^θ per source corpus. */
  byCorpus: Record<string, number>;
}

export interface HardnessSummary {
  iterations: number;
  tasksPerIteration: number;
  windows: HardnessWindow[];
  /** Detailed iterations' tasks, largest γ first: the first detailed iteration and the last. */
  examples: { iteration: number; tasks: HardnessLine['tasks'] }[];
}

function pearson(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

const meanOf = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/**
 * How γ moves over meta-training (paper Table 4): the log cut into `windows` equal spans of iterations, each with the
 * spread of the relative weights n·γ^θ within an iteration, their correlation with the query sets' entity tokens,
 * and their mean per entity bucket and per corpus; plus the tasks of the first and last detailed iterations.
 */
export function summarizeHardness(lines: readonly HardnessLine[], windows = 10): HardnessSummary {
  if (lines.length === 0) throw new Error('the hardness log is empty');
  const last = lines[lines.length - 1].iteration;
  const n = lines[0].tasks.length;
  const count = Math.min(windows, lines.length);
  const out: HardnessWindow[] = [];
  for (let w = 0; w < count; w++) {
    const from = Math.floor((w * last) / count) + 1;
    const to = Math.floor(((w + 1) * last) / count);
    const inside = lines.filter((l) => l.iteration >= from && l.iteration <= to);
    const tasks = inside.flatMap((l) => l.tasks.map((t) => ({ ...t, weight: t.theta * l.tasks.length })));
    const spreads = inside.map((l) => {
      const ws = l.tasks.map((t) => t.theta * l.tasks.length);
      return Math.max(...ws) - Math.min(...ws);
    });
    const corpora = [...new Set(tasks.map((t) => t.corpus))].sort();
    out.push({
      from,
      to,
      tasks: tasks.length,
      spread: meanOf(spreads),
      corrEntityTokens: pearson(
        tasks.map((t) => t.weight),
        tasks.map((t) => t.query.entityTokens),
      ),
      byBucket: ENTITY_BUCKETS.map((b) => meanOf(tasks.filter((t) => t.query.entities >= b.min && t.query.entities <= b.max).map((t) => t.weight))),
      byCorpus: Object.fromEntries(corpora.map((c) => [c, meanOf(tasks.filter((t) => t.corpus === c).map((t) => t.weight))])),
    });
  }
  const detailed = lines.filter((l) => l.tasks.every((t) => t.support));
  const picks = detailed.length ? [...new Set([detailed[0], detailed[detailed.length - 1]])] : [];
  return {
    iterations: last,
    tasksPerIteration: n,
    windows: out,
    examples: picks.map((l) => ({ iteration: l.iteration, tasks: [...l.tasks].sort((a, b) => b.theta - a.theta) })),
  };
}
