import type { BackendChoice } from '../training/engine/backend';
import { MAX_SENTENCE_TOKENS } from '../training/model/tag-text';
import { NerModel, PREDICT_BATCH, PredictedSpan } from '../training/model/ner-model';
import { TagPool } from '../training/parallel/tag-pool';
import { resolveWorkers } from '../training/parallel/worker-entry';
import type { DocSentence } from './documents';

/** The model the pool's threads load: its directory, in the convention the main thread uses (a new generation on every change). */
export interface ActiveModel {
  dir: string;
  generation: number;
  convention?: string;
}

/** A predicted entity with offsets into the document text. */
export interface OffsetEntity {
  start: number;
  end: number;
  type: string;
  confidence: number;
  sentence: DocSentence;
}

/** Sentences tagged per model call between two yields to the event loop (keeps requests answered). */
const CHUNK = 48;

const keyOf = (tokens: readonly { text: string }[]): string => tokens.map((t) => t.text).join('\u0001');

/** A request with more sentences to tag than this starts a pool of worker threads (setting `workers` ≠ 1). */
export const POOL_THRESHOLD = 2000;
/** While a pool runs, requests with more sentences than this go to it; smaller ones (the visible part) are tagged at once here. */
const POOL_MIN = CHUNK;
/** A pool unused this long is closed: each worker holds its own copy of the model. */
const POOL_IDLE_MS = 60_000;

/** What the pool host needs to know of the server. */
export interface PoolSource {
  /** The active model's directory, generation and annotation convention, if one is loaded. */
  model(): ActiveModel | undefined;
  /** The `workers` setting: 0 = every core, 1 = no pool. */
  workers(): Promise<number>;
  /** The backend the server runs (the workers start the same). */
  backend(): BackendChoice | undefined;
  log(message: string): void;
}

interface Running {
  generation: number;
  workers: number;
  pool: Promise<TagPool | undefined>;
}

/**
 * Keeps at most one tagging pool for the active model, so that large documents are tagged off the main thread:
 * started for a request above POOL_THRESHOLD sentences, restarted when the model or the worker count changes,
 * closed when idle. A pool that cannot start or dies is logged, dropped and tagging falls back to the main thread.
 */
export class TagPoolHost {
  private running: Running | undefined;
  private failedStart: string | undefined;
  private busy = 0;
  private idle: NodeJS.Timeout | undefined;

  constructor(
    private readonly source: PoolSource,
    private readonly threshold = POOL_THRESHOLD,
    private readonly idleMs = POOL_IDLE_MS,
  ) {}

  /** A pool to tag `count` sentences with, or undefined to tag them on the main thread; call `release` when done. */
  async acquire(count: number): Promise<{ pool: TagPool; release: () => void } | undefined> {
    if (count <= POOL_MIN) return undefined;
    const model = this.source.model();
    if (!model) return undefined;
    const workers = resolveWorkers(await this.source.workers());
    let running = this.running;
    if (!running || running.generation !== model.generation || running.workers !== workers) {
      if (!running && count <= this.threshold) return undefined;
      running = this.restart(model, workers);
      if (!running) return undefined;
    }
    this.busy++;
    if (this.idle) clearTimeout(this.idle);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (--this.busy === 0) {
        this.idle = setTimeout(() => void this.close(), this.idleMs);
        this.idle.unref();
      }
    };
    const pool = await running.pool;
    if (!pool) {
      release();
      return undefined;
    }
    return { pool, release };
  }

  /** Worker threads of the running pool (0: none runs; tagging is on the main thread). */
  get threads(): number {
    return this.running?.workers ?? 0;
  }

  /** The model changed: a running pool is restarted with the new one (nothing starts if none runs). */
  modelChanged(): void {
    const model = this.source.model();
    if (!this.running || !model || this.running.generation === model.generation) return;
    const workers = this.running.workers;
    this.restart(model, workers);
  }

  /** A call on `pool` failed (a worker died): log why and drop it; the next large request starts a new one. */
  failed(pool: TagPool, err: unknown): void {
    this.source.log(`tagging on worker threads failed (${(err as Error).message}); tagging on the main thread`);
    void this.running?.pool.then((p) => {
      if (p === pool) void this.close();
    });
  }

  async close(): Promise<void> {
    if (this.idle) clearTimeout(this.idle);
    const running = this.running;
    this.running = undefined;
    await (await running?.pool)?.close();
  }

  private restart(model: ActiveModel, workers: number): Running | undefined {
    void this.close();
    if (workers < 2) return undefined;
    const key = `${model.dir}\u0000${workers}`;
    if (this.failedStart === key) return undefined; // not again for the same model and count
    const started = Date.now();
    const running: Running = {
      generation: model.generation,
      workers,
      pool: TagPool.start(model.dir, workers, this.source.backend(), model.convention).then(
        (pool) => {
          this.source.log(`tagging large documents on ${workers} worker threads (started in ${Date.now() - started} ms)`);
          if (this.running !== running) void pool.close(); // replaced while starting
          return pool;
        },
        (err: unknown) => {
          this.failedStart = key;
          if (this.running === running) this.running = undefined;
          this.source.log(`could not start the tagging worker threads (${(err as Error).message}); tagging on the main thread`);
          return undefined;
        },
      ),
    };
    this.running = running;
    return running;
  }
}

/**
 * Tags sentences with a cache keyed by the sentence's tokens: after an edit only the sentences whose tokens
 * changed go through the model. Work is done in chunks with a yield in between, and stops early when the
 * caller's result has become stale (a newer document version).
 */
export class SentenceTagger {
  private cache = new Map<string, PredictedSpan[]>();
  private generation = -1;

  constructor(
    private readonly capacity = 100_000,
    /** Worker threads for large documents; without, everything is tagged on the main thread. */
    private readonly pools?: TagPoolHost,
  ) {}

  /** Entities of `sentences`, or undefined if `isStale()` turned true meanwhile. */
  async tag(model: NerModel, generation: number, sentences: readonly DocSentence[], isStale: () => boolean = () => false): Promise<OffsetEntity[] | undefined> {
    if (generation !== this.generation) {
      this.cache.clear();
      this.generation = generation;
      this.pools?.modelChanged();
    }
    // Pieces of at most MAX_SENTENCE_TOKENS tokens, as tagText does, so that punctuation-free text stays tractable.
    const pieces: { tokens: DocSentence['tokens']; sentence: DocSentence; key: string }[] = [];
    for (const s of sentences) {
      for (let k = 0; k < s.tokens.length; k += MAX_SENTENCE_TOKENS) {
        const tokens = s.tokens.slice(k, k + MAX_SENTENCE_TOKENS);
        pieces.push({ tokens, sentence: s, key: keyOf(tokens) });
      }
    }
    let missing = [...new Set(pieces.filter((p) => !this.cache.has(p.key)).map((p) => p.key))];
    const byKey = new Map(pieces.map((p) => [p.key, p.tokens]));
    const lease = this.pools && missing.length > POOL_MIN ? await this.pools.acquire(missing.length) : undefined;
    if (lease) {
      // Off the main thread, in slices so that a stale request stops early; the next slice is queued while one
      // is tagged, so that no worker waits for the main thread.
      const slice = lease.pool.size * PREDICT_BATCH * 4;
      const run = (i: number) => {
        const p = lease.pool.predict(missing.slice(i, i + slice).map((k) => byKey.get(k)!.map((t) => t.text)));
        p.catch(() => undefined); // awaited below, unless the request goes stale first
        return p;
      };
      try {
        let next = run(0);
        for (let i = 0; i < missing.length; i += slice) {
          const current = next;
          if (i + slice < missing.length) next = run(i + slice);
          const predictions = await current;
          if (generation !== this.generation) return undefined;
          missing.slice(i, i + slice).forEach((k, j) => this.remember(k, predictions[j].spans));
          if (isStale()) return undefined;
        }
      } catch (err) {
        if (isStale() || generation !== this.generation) return undefined;
        this.pools!.failed(lease.pool, err);
      } finally {
        lease.release();
      }
      missing = missing.filter((k) => !this.cache.has(k));
    }
    for (let i = 0; i < missing.length; i += CHUNK) {
      if (i > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (isStale() || generation !== this.generation) return undefined;
      }
      const keys = missing.slice(i, i + CHUNK);
      const predictions = model.predict(keys.map((k) => byKey.get(k)!.map((t) => t.text)));
      keys.forEach((k, j) => this.remember(k, predictions[j].spans));
    }
    const out: OffsetEntity[] = [];
    for (const p of pieces) {
      const spans = this.cache.get(p.key) ?? [];
      for (const s of spans) out.push({ start: p.tokens[s.start].start, end: p.tokens[s.end - 1].end, type: s.type, confidence: s.confidence, sentence: p.sentence });
    }
    return out;
  }

  private remember(key: string, spans: PredictedSpan[]): void {
    if (this.cache.size >= this.capacity) {
      // Drop the oldest tenth (Map iteration order is insertion order).
      let n = Math.ceil(this.capacity / 10);
      for (const k of this.cache.keys()) {
        if (n-- <= 0) break;
        this.cache.delete(k);
      }
    }
    this.cache.set(key, spans);
  }

  get size(): number {
    return this.cache.size;
  }

  /** Worker threads tagging large documents now (0: none). */
  get poolThreads(): number {
    return this.pools?.threads ?? 0;
  }

  /** Ends the worker threads, if any run. */
  close(): Promise<void> {
    return this.pools?.close() ?? Promise.resolve();
  }
}
