/**
 * The parallel section of bench:engine: training throughput (data-parallel mini-batches), meta-iterations
 * (task-parallel) and tagging (a pool of tagging workers) with 1 thread and with every core, and the memory
 * each extra worker costs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MetaTask, metaUpdate, taskSeeds } from '../training/meta/fomaml';
import { Featurizer } from '../training/model/features';
import { DEFAULT_SHAPE, initParams, TaggerShape } from '../training/model/tagger';
import type { CharVocab, TagSet } from '../training/model/vocab';
import type { Sentence } from '../training/data/types';
import { ComputePool } from '../training/parallel/compute-pool';
import { identityView, splitShards } from '../training/parallel/shard-step';
import { TagPool } from '../training/parallel/tag-pool';
import { allowedMask, LabelledSentence } from '../training/train/labels';
import { AdamW } from '../training/train/optimizer';
import { disposeGrads, pick } from '../training/train/step';
import { Rng } from '../training/util/random';
import { HashedVectors } from '../test/helpers/hashed-vectors';

export interface ParallelNumbers {
  train_sentences_per_s: Record<string, Record<string, number>>;
  meta_iterations_per_s: Record<string, number>;
  tag_tokens_per_s: Record<string, number>;
  rss_mib_per_worker: number;
}

const WARMUP = 5;
/** Timed steps per block; throughput is the median of BLOCKS blocks (a 40-step block moved by ±30% run to run). */
const STEPS = 40;
const BLOCKS = 3;
const META_ITERATIONS = 16;
const TAG_PASSES = 3;

function rssMiB(): number {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

/** Sentences per second of whole training steps: featurizing, gradients on `workers` threads, AdamW, publishing. */
async function trainThroughput(items: LabelledSentence[], featurizer: Featurizer, shape: TaggerShape, tagSet: TagSet, batchSize: number, workers: number): Promise<number> {
  const params = initParams(shape, 1);
  const opt = new AdamW(params);
  const pool = await ComputePool.start({ workers, shape, vars: params });
  const rng = new Rng(1);
  const view = identityView(params);
  const rates: number[] = [];
  let started = 0;
  try {
    for (let s = 0; s < WARMUP + BLOCKS * STEPS; s++) {
      if (s >= WARMUP && (s - WARMUP) % STEPS === 0) {
        if (s > WARMUP) rates.push((STEPS * batchSize) / ((performance.now() - started) / 1000));
        started = performance.now();
      }
      const from = (s * batchSize) % (items.length - batchSize);
      const jobs = splitShards(items.slice(from, from + batchSize), workers).map((shard) => {
        const batch = featurizer.batch(shard.map((it) => it.sentence.tokens));
        return { batch, allowed: allowedMask(shard, tagSet, batch), dropout: 0.5, seed: rng.seed(), view };
      });
      const { grads } = await pool.gradients(jobs);
      opt.apply(grads, 1e-3);
      pool.publish(Object.keys(grads));
      disposeGrads(grads);
    }
    rates.push((STEPS * batchSize) / ((performance.now() - started) / 1000));
    return rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)];
  } finally {
    pool.close();
    opt.dispose();
    for (const v of Object.values(params)) v.dispose();
  }
}

/** Meta-iterations per second: 4 tasks (K = 5 support + 5 query) × 3 inner steps, tasks spread over the threads. */
async function metaThroughput(items: LabelledSentence[], featurizer: Featurizer, shape: TaggerShape, tagSet: TagSet, workers: number): Promise<number> {
  const params = initParams(shape, 1);
  const opt = new AdamW(params);
  const pool = await ComputePool.start({ workers, shape, vars: params, tasksPerThread: Math.ceil(4 / workers) });
  const wrt = pick(params, ['enc.', 'dec.']);
  const rng = new Rng(1);
  const part = (list: LabelledSentence[]) => {
    const batch = featurizer.batch(list.map((it) => it.sentence.tokens));
    return { batch, allowed: allowedMask(list, tagSet, batch) };
  };
  let started = 0;
  try {
    for (let r = 0; r < 2 + META_ITERATIONS; r++) {
      if (r === 2) started = performance.now();
      const tasks: MetaTask[] = [];
      for (let k = 0; k < 4; k++) {
        const from = ((r * 4 + k) * 10) % (items.length - 10);
        tasks.push({ support: part(items.slice(from, from + 5)), query: part(items.slice(from + 5, from + 10)) });
      }
      const settings = { innerSteps: 3, innerLr: 0.01, dropout: 0.5, lambda: 0 };
      const outcomes = await pool.metaTasks(tasks, taskSeeds(4, rng), wrt, settings);
      metaUpdate(outcomes, opt, { ...settings, outerLr: 1e-3, weighting: 'uniform' });
      pool.publish(Object.keys(wrt));
    }
    return META_ITERATIONS / ((performance.now() - started) / 1000);
  } finally {
    pool.close();
    opt.dispose();
    for (const v of Object.values(params)) v.dispose();
  }
}

/** Tokens per second of the shipped model tagging `sentences` (with span confidences) on a pool of `workers`. */
async function tagThroughput(modelDir: string, sentences: Sentence[], workers: number): Promise<number> {
  const pool = await TagPool.start(modelDir, workers);
  const tokens = sentences.reduce((n, s) => n + s.tokens.length, 0);
  try {
    await pool.predict(sentences.map((s) => s.tokens));
    let best = 0;
    for (let pass = 0; pass < TAG_PASSES; pass++) {
      const t0 = performance.now();
      await pool.predict(sentences.map((s) => s.tokens));
      best = Math.max(best, tokens / ((performance.now() - t0) / 1000));
    }
    return best;
  } finally {
    await pool.close();
  }
}

/** Resident memory one more compute worker adds (its engine, the weights' replica), from a pool of `workers`. */
async function rssPerWorker(items: LabelledSentence[], featurizer: Featurizer, shape: TaggerShape, tagSet: TagSet, workers: number): Promise<number> {
  if (workers < 2) return 0;
  const before = rssMiB();
  const params = initParams(shape, 2);
  const pool = await ComputePool.start({ workers, shape, vars: params });
  try {
    const view = identityView(params);
    for (let s = 0; s < 5; s++) {
      const jobs = splitShards(items.slice(s * 32, s * 32 + 32), workers).map((shard, i) => {
        const batch = featurizer.batch(shard.map((it) => it.sentence.tokens));
        return { batch, allowed: allowedMask(shard, tagSet, batch), dropout: 0.5, seed: i, view };
      });
      disposeGrads((await pool.gradients(jobs)).grads);
    }
    return (rssMiB() - before) / (workers - 1);
  } finally {
    pool.close();
    for (const v of Object.values(params)) v.dispose();
  }
}

export async function measureParallel(sentences: Sentence[], tagSet: TagSet, chars: CharVocab, workers: number, batchSizes: readonly number[]): Promise<ParallelNumbers> {
  const featurizer = new Featurizer(new HashedVectors(100), chars, DEFAULT_SHAPE.maxWordChars);
  const shape: TaggerShape = { ...DEFAULT_SHAPE, wordDim: 100, charVocabSize: chars.size, numTags: tagSet.size, numDomains: 0 };
  const items = sentences.map((sentence): LabelledSentence => ({ sentence, annotatedTypes: tagSet.types, corpus: 'bench' }));
  const counts = [...new Set([1, workers])];
  const out: ParallelNumbers = { train_sentences_per_s: {}, meta_iterations_per_s: {}, tag_tokens_per_s: {}, rss_mib_per_worker: 0 };
  for (const B of batchSizes) {
    out.train_sentences_per_s[String(B)] = {};
    for (const w of counts) out.train_sentences_per_s[String(B)][w === 1 ? '1' : 'N'] = await trainThroughput(items, featurizer, shape, tagSet, B, w);
  }
  for (const w of counts) out.meta_iterations_per_s[w === 1 ? '1' : 'N'] = await metaThroughput(items, featurizer, shape, tagSet, w);
  const modelDir = path.join(__dirname, '..', 'models', 'default');
  // Four copies of the sentences: enough batches of the tagging pool for every worker.
  const tagged = [...sentences, ...sentences, ...sentences, ...sentences];
  for (const w of counts) out.tag_tokens_per_s[w === 1 ? '1' : 'N'] = await tagThroughput(modelDir, tagged, w);
  out.rss_mib_per_worker = await rssPerWorker(items, featurizer, shape, tagSet, workers);
  return out;
}
