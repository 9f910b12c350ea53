import { Worker } from 'node:worker_threads';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { activeBackend } from '../engine/backend';
import { adaptAndQuery, MetaTask, TaskOutcome } from '../meta/fomaml';
import type { TaggerShape, Variables } from '../model/tagger';
import { disposeGrads } from '../train/step';
import { Rng } from '../util/random';
import type { FromComputeWorker, InnerLoopSettings, ToComputeWorker, WorkerInit } from './messages';
import { layoutOf, ParamLayout, ParamSlot, slotMap, writeFlat } from './param-layout';
import { decodePaths, shardGradients, ShardJob } from './shard-step';
import type { Batch } from '../model/features';
import { workerEntry } from './worker-entry';

export interface ComputePoolOptions {
  /** Threads computing in parallel, the calling thread included (1 = no worker thread). */
  workers: number;
  shape: TaggerShape;
  /** The trainable weights; the pool's replicas start from their current values. */
  vars: Variables;
  /** Meta-learning: the most tasks one thread computes per iteration (sizes the shared gradient buffer). */
  tasksPerThread?: number;
}

type Pending = { resolve: (m: FromComputeWorker) => void; reject: (e: Error) => void };

/**
 * Data- and task-parallel gradients for one model. The calling thread computes the first shard (or its share of
 * tasks) itself while `workers − 1` threads, each with its own TensorFlow.js engine and a replica of the weights,
 * compute the others. Weights and gradients cross threads through SharedArrayBuffers: after each update the
 * caller publishes the parameters it changed (`publish`), and each worker copies them into its replica before
 * its next job. Gradients are combined in shard order, so a run with the same worker count repeats bit for bit.
 */
export class ComputePool {
  private readonly slots: Map<string, ParamSlot>;
  private readonly params: Float32Array;
  private readonly grads: Float32Array;
  private readonly threads: Worker[] = [];
  private readonly dirty: Set<string>[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    readonly workers: number,
    private readonly shape: TaggerShape,
    private readonly vars: Variables,
    private readonly layout: ParamLayout,
    private readonly tasksPerThread: number,
  ) {
    this.slots = slotMap(layout);
    this.params = new Float32Array(new SharedArrayBuffer(layout.size * 4));
    this.grads = new Float32Array(new SharedArrayBuffer(Math.max(1, (workers - 1) * tasksPerThread * layout.size) * 4));
    writeFlat(this.slots, vars, this.params);
  }

  static async start(o: ComputePoolOptions): Promise<ComputePool> {
    if (!Number.isInteger(o.workers) || o.workers < 1) throw new Error(`workers must be a positive whole number, not ${o.workers}`);
    const pool = new ComputePool(o.workers, o.shape, o.vars, layoutOf(o.vars), Math.max(1, o.tasksPerThread ?? 1));
    try {
      await Promise.all(Array.from({ length: o.workers - 1 }, (_, i) => pool.spawn(i + 1)));
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  private spawn(index: number): Promise<void> {
    const backend = activeBackend()?.name ?? 'wasm';
    const init: WorkerInit = {
      index,
      backend,
      shape: this.shape,
      layout: this.layout,
      params: this.params.buffer as SharedArrayBuffer,
      grads: this.grads.buffer as SharedArrayBuffer,
      gradOffset: (index - 1) * this.tasksPerThread * this.layout.size,
    };
    const entry = workerEntry(path.join(__dirname, 'compute-worker.ts'), 'compute-worker');
    // The workers' console goes to stderr: a command's stdout may be its data (e.g. JSON).
    const worker = new Worker(entry.script, { eval: entry.eval, workerData: init, stdout: true, stderr: true });
    worker.stdout.pipe(process.stderr);
    worker.stderr.pipe(process.stderr);
    this.threads.push(worker);
    this.dirty.push(new Set());
    return new Promise<void>((resolve, reject) => {
      const fail = (message: string) => {
        const err = new Error(message);
        if (!this.failure) this.failure = err;
        reject(err);
        for (const p of this.pending.values()) p.reject(this.failure);
        this.pending.clear();
      };
      worker.on('message', (m: FromComputeWorker) => {
        if (m.type === 'ready') return resolve();
        if (m.type === 'failed' && m.id === -1) return fail(`compute worker ${index} ${m.message}`);
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.type === 'failed') p.reject(new Error(`compute worker ${index}: ${m.message}`));
        else p.resolve(m);
      });
      worker.on('error', (err) => fail(`compute worker ${index} crashed: ${err.message}`));
      worker.on('exit', (code) => {
        if (!this.closed) fail(`compute worker ${index} exited unexpectedly (code ${code})`);
      });
    });
  }

  private send(thread: number, build: (id: number, dirty: string[]) => ToComputeWorker): Promise<FromComputeWorker> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const message = build(id, [...this.dirty[thread]]);
    // Only a compute job makes the worker read the shared weights.
    if (message.type !== 'memory') this.dirty[thread].clear();
    return new Promise<FromComputeWorker>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.threads[thread].postMessage(message);
    });
  }

  /** After an update of the caller's weights: makes the workers read these parameters before their next job. */
  publish(names: Iterable<string>): void {
    const list = [...names].filter((n) => this.slots.has(n));
    writeFlat(this.slots, this.vars, this.params, list);
    for (const d of this.dirty) for (const n of list) d.add(n);
  }

  private gradsFrom(offset: number, names: readonly string[]): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const n of names) {
      const s = this.slots.get(n) as ParamSlot;
      out[n] = this.grads.slice(offset + s.offset, offset + s.offset + s.size);
    }
    return out;
  }

  /**
   * Loss and gradients of a mini-batch given as shards (at most `workers`), each weighted by its share of the
   * sentences — the mean loss of the whole batch, as one thread computing it at once would give.
   */
  async gradients(jobs: readonly ShardJob[]): Promise<{ loss: number; grads: Record<string, tf.Tensor> }> {
    if (jobs.length === 0 || jobs.length > this.workers) throw new Error(`a step takes 1 to ${this.workers} shards, not ${jobs.length}`);
    const replies = jobs.slice(1).map((job, i) => this.send(i, (id, dirty) => ({ type: 'grads', id, dirty, job })));
    // Our own shard runs while the workers compute theirs.
    let own: { loss: number; grads: Record<string, tf.Tensor> };
    try {
      own = shardGradients(this.vars, this.shape, jobs[0]);
    } catch (err) {
      await Promise.allSettled(replies);
      throw err;
    }
    if (jobs.length === 1) return own;
    try {
      const answers = (await Promise.all(replies)) as Extract<FromComputeWorker, { type: 'grads' }>[];
      const total = jobs.reduce((n, j) => n + j.batch.B, 0);
      const weights = jobs.map((j) => j.batch.B / total);
      const parts: Record<string, Float32Array>[] = [
        Object.fromEntries(Object.entries(own.grads).map(([n, g]) => [n, g.dataSync() as Float32Array])),
        ...answers.map((a, i) => this.gradsFrom(i * this.tasksPerThread * this.layout.size, a.names)),
      ];
      const grads: Record<string, tf.Tensor> = {};
      for (const name of Object.keys(own.grads)) {
        const s = this.slots.get(name) as ParamSlot;
        const sum = new Float32Array(s.size);
        parts.forEach((p, i) => {
          const g = p[name];
          if (!g) return;
          const w = weights[i];
          for (let k = 0; k < sum.length; k++) sum[k] += w * g[k];
        });
        grads[name] = tf.tensor(sum, s.shape);
      }
      const loss = [own.loss, ...answers.map((a) => a.loss)].reduce((acc, l, i) => acc + weights[i] * l, 0);
      return { loss, grads };
    } finally {
      disposeGrads(own.grads);
    }
  }

  /**
   * Every task's adaptation and query gradients (first-order MAML, one task per thread at a time, contiguous
   * shares in task order); the caller weighs them (hardness γ) and takes the outer step.
   */
  async metaTasks(tasks: readonly MetaTask[], seeds: readonly number[], wrt: Variables, settings: InnerLoopSettings): Promise<TaskOutcome[]> {
    const per = Math.ceil(tasks.length / this.workers);
    if (per > this.tasksPerThread) throw new Error(`${tasks.length} tasks need ${per} per thread; the pool was sized for ${this.tasksPerThread}`);
    const shares = Array.from({ length: this.workers }, (_, p) => ({ from: p * per, to: Math.min(tasks.length, (p + 1) * per) })).filter((s) => s.to > s.from);
    const wrtNames = Object.keys(wrt);
    const replies = shares.slice(1).map((s, i) =>
      this.send(i, (id, dirty) => ({ type: 'meta', id, dirty, tasks: tasks.slice(s.from, s.to), seeds: seeds.slice(s.from, s.to), wrt: wrtNames, settings })),
    );
    const outcomes: TaskOutcome[] = [];
    try {
      for (let i = shares[0].from; i < shares[0].to; i++) outcomes.push(adaptAndQuery(this.vars, wrt, this.shape, tasks[i], settings, new Rng(seeds[i])));
      const answers = (await Promise.all(replies)) as Extract<FromComputeWorker, { type: 'meta' }>[];
      answers.forEach((a, w) =>
        a.results.forEach((r, j) => {
          const flat = this.gradsFrom((w * this.tasksPerThread + j) * this.layout.size, r.names);
          const grads = Object.fromEntries(r.names.map((n) => [n, tf.tensor(flat[n], (this.slots.get(n) as ParamSlot).shape)]));
          outcomes.push({ labelLoss: r.labelLoss, criticLoss: r.criticLoss, grads });
        }),
      );
      return outcomes;
    } catch (err) {
      await Promise.allSettled(replies);
      for (const o of outcomes) disposeGrads(o.grads);
      throw err;
    }
  }

  /**
   * Viterbi tag ids of every sentence of every batch by the current weights (read through `view`), the batches
   * dealt round-robin over the threads: a devel evaluation on every core.
   */
  async decode(batches: readonly Batch[], view: [string, string][]): Promise<number[][][]> {
    const shares = Array.from({ length: this.workers }, (_, p) => batches.map((_, i) => i).filter((i) => i % this.workers === p)).filter((s) => s.length > 0);
    const replies = shares.slice(1).map((share, t) => this.send(t, (id, dirty) => ({ type: 'decode', id, dirty, view, batches: share.map((i) => batches[i]) })));
    const out = new Array<number[][]>(batches.length);
    try {
      decodePaths(this.vars, this.shape, view, shares[0]?.map((i) => batches[i]) ?? []).forEach((paths, j) => (out[shares[0][j]] = paths));
    } catch (err) {
      await Promise.allSettled(replies);
      throw err;
    }
    const answers = (await Promise.all(replies)) as Extract<FromComputeWorker, { type: 'decode' }>[];
    answers.forEach((a, t) => a.paths.forEach((paths, j) => (out[shares[t + 1][j]] = paths)));
    return out;
  }

  /** Tensors alive in each worker's engine and each worker's view of the process' resident memory (for tests and benchmarks). */
  async workerMemory(): Promise<{ numTensors: number; rssBytes: number }[]> {
    const answers = await Promise.all(this.threads.map((_, i) => this.send(i, (id) => ({ type: 'memory', id }))));
    return answers.map((a) => a as Extract<FromComputeWorker, { type: 'memory' }>);
  }

  close(): void {
    this.closed = true;
    for (const w of this.threads) void w.terminate();
    for (const p of this.pending.values()) p.reject(new Error('the compute pool was closed'));
    this.pending.clear();
  }
}
