/**
 * A tagging pool: N worker threads, each with its own TensorFlow.js backend and its own copy of one model,
 * tagging batches of sentences in parallel. Results are exactly `NerModel.predict`'s: a call is cut into the
 * batches `predict` itself would run (sorted by length, 64 at a time) and each batch is one job for the next
 * free worker. With one worker the pool tags in-process (no thread), batch by batch with a yield in between.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { activeBackend, BackendChoice, initBackend } from '../engine/backend';
import { loadModel, ModelFormatError, readModelInfo } from '../model/model-io';
import { NerModel, predictionBatches, SentencePrediction } from '../model/ner-model';
import { textEntities, TextEntity, textPieces } from '../model/tag-text';
import { resolveWorkers, workerEntry } from './worker-entry';

/** What a tagging worker is started with. */
export interface TagWorkerData {
  modelDir: string;
  backend: BackendChoice;
  /** Tag in this corpus' annotation convention (a unified model with conventions). */
  convention?: string;
}

/** Main thread → tagging worker. */
export type ToTagWorker = { type: 'predict'; id: number; sentences: string[][] } | { type: 'tensors'; id: number };

/** Tagging worker → main thread. A `failed` without id: the worker could not start. */
export type FromTagWorker =
  | { type: 'ready' }
  | { type: 'result'; id: number; predictions: SentencePrediction[] }
  | { type: 'tensors'; id: number; numTensors: number }
  | { type: 'failed'; id?: number; message: string; name?: string };

type Request = { type: 'predict'; sentences: string[][] } | { type: 'tensors' };

interface Job {
  request: Request;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  /** 1-based, for messages. */
  number: number;
  running?: Job;
}

const firstLine = (s: string): string => s.split('\n')[0].trim();

/** Starts one worker and waits until its model is loaded. */
function spawn(data: TagWorkerData): Promise<Worker> {
  const entry = workerEntry(path.join(__dirname, 'tag-worker.ts'), 'tag-worker');
  // The worker's console goes to our stderr: stdout is the CLI's output or the language server's LSP channel.
  const worker = new Worker(entry.script, { eval: entry.eval, workerData: data, stdout: true, stderr: true });
  worker.stdout.pipe(process.stderr);
  worker.stderr.pipe(process.stderr);
  return new Promise((resolve, reject) => {
    const done = (f: () => void) => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      f();
    };
    const onMessage = (m: FromTagWorker) => {
      if (m.type === 'ready') done(() => resolve(worker));
      else if (m.type === 'failed') {
        void worker.terminate();
        const err = m.name === 'ModelFormatError' ? Object.assign(new ModelFormatError(data.modelDir, ''), { message: m.message }) : new Error(`a tagging worker could not start: ${firstLine(m.message)}`);
        done(() => reject(err));
      }
    };
    const onError = (err: Error) => done(() => reject(new Error(`a tagging worker crashed while starting: ${firstLine(err.message)}`)));
    const onExit = (code: number) => done(() => reject(new Error(`a tagging worker exited while starting (code ${code})`)));
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  });
}

export class TagPool {
  private readonly queue: Job[] = [];
  private nextId = 0;
  private closed = false;
  private failed: Error | undefined;

  private constructor(
    /** Worker threads (1: tagging in-process). */
    readonly size: number,
    private readonly local: NerModel | undefined,
    private readonly slots: Slot[],
  ) {
    for (const slot of slots) {
      slot.worker.on('message', (m: FromTagWorker) => this.answered(slot, m));
      slot.worker.on('error', (err) => this.fail(`tagging worker ${slot.number} of ${size} crashed: ${firstLine(err.message)}`));
      slot.worker.on('exit', (code) => this.fail(`tagging worker ${slot.number} of ${size} exited unexpectedly (code ${code})`));
    }
  }

  /**
   * Loads `modelDir` in `workers` worker threads (0 or undefined: every core; 1: in this thread), each with the
   * backend `backend` (default: the one this thread runs). Rejects if any worker cannot start.
   */
  static async start(modelDir: string, workers?: number, backend?: BackendChoice, convention?: string): Promise<TagPool> {
    const n = resolveWorkers(workers);
    const choice = backend ?? activeBackend()?.name ?? 'auto';
    readModelInfo(modelDir); // a missing or unreadable model is reported once, here, not by every worker
    if (n === 1) {
      await initBackend(choice);
      return new TagPool(1, loadModel(modelDir, { convention }), []);
    }
    const started = await Promise.allSettled(Array.from({ length: n }, () => spawn({ modelDir, backend: choice, convention })));
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.terminate() : undefined)));
      throw failure.reason;
    }
    return new TagPool(n, undefined, started.map((s, i) => ({ worker: (s as PromiseFulfilledResult<Worker>).value, number: i + 1 })));
  }

  /** Why the pool stopped working (a worker died), if it did; every later call rejects with it. */
  get failure(): Error | undefined {
    return this.failed;
  }

  /** Same result as `NerModel.predict(sentences)`, computed on the pool's workers. */
  async predict(sentences: readonly (readonly string[])[]): Promise<SentencePrediction[]> {
    const out = new Array<SentencePrediction>(sentences.length);
    const batches = predictionBatches(sentences);
    if (this.local) {
      const model = this.local;
      for (let b = 0; b < batches.length; b++) {
        if (b > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        this.check();
        const idx = batches[b];
        model.predict(idx.map((k) => sentences[k])).forEach((p, j) => (out[idx[j]] = p));
      }
      return out;
    }
    await Promise.all(
      batches.map(async (idx) => {
        const predictions = (await this.submit({ type: 'predict', sentences: idx.map((k) => [...sentences[k]]) })) as SentencePrediction[];
        predictions.forEach((p, j) => (out[idx[j]] = p));
      }),
    );
    return out;
  }

  /** Same result as `tagText(model, text)` for each text, in order. */
  tagTexts(texts: readonly string[]): Promise<TextEntity[][]> {
    return Promise.all(
      texts.map(async (text) => {
        const pieces = textPieces(text);
        return textEntities(text, pieces, await this.predict(pieces.map((p) => p.tokens.map((t) => t.text))));
      }),
    );
  }

  /** Live tensors in each worker (to check that they leak none); empty when tagging in-process. */
  async tensorsInWorkers(): Promise<number[]> {
    this.check();
    return Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<number>((resolve, reject) => {
            // a direct request, not queued: it is answered between two jobs of that worker
            const id = this.nextId++;
            const onMessage = (m: FromTagWorker) => {
              if (m.type === 'tensors' && m.id === id) {
                slot.worker.off('message', onMessage);
                resolve(m.numTensors);
              }
            };
            slot.worker.on('message', onMessage);
            slot.worker.once('exit', () => reject(this.failed ?? new Error('the tagging pool was closed')));
            slot.worker.postMessage({ type: 'tensors', id } satisfies ToTagWorker);
          }),
      ),
    );
  }

  /** Ends the workers (or frees the in-process model); calls still pending reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.rejectAll(new Error('the tagging pool was closed'));
    this.local?.dispose();
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private check(): void {
    if (this.failed) throw this.failed;
    if (this.closed) throw new Error('the tagging pool was closed');
  }

  private submit(request: Request): Promise<unknown> {
    this.check();
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.running) continue;
      const job = this.queue.shift()!;
      slot.running = job;
      slot.worker.postMessage({ ...job.request, id: this.nextId++ } as ToTagWorker);
    }
  }

  private answered(slot: Slot, m: FromTagWorker): void {
    const job = slot.running;
    if (!job || m.type === 'ready' || m.type === 'tensors') return;
    slot.running = undefined;
    if (m.type === 'result') job.resolve(m.predictions);
    else job.reject(new Error(`tagging failed: ${firstLine(m.message)}`));
    this.dispatch();
  }

  /** A worker died: the pool is unusable; every pending and later call rejects with the cause. */
  private fail(cause: string): void {
    if (this.closed || this.failed) return;
    this.failed = new Error(cause);
    this.rejectAll(this.failed);
    for (const s of this.slots) void s.worker.terminate();
  }

  private rejectAll(err: Error): void {
    for (const s of this.slots) {
      s.running?.reject(err);
      s.running = undefined;
    }
    for (const job of this.queue.splice(0)) job.reject(err);
  }
}
