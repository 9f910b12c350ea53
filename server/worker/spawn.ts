import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { workerEntry } from '../../training/parallel/worker-entry';
import type { FromWorker, ToWorker, WorkerOutput, WorkerTask } from './messages';

/** The server's worker: dist/training-worker.js, or worker-main.ts when the server runs from its sources. */
function serverWorkerEntry(): { script: string; eval: boolean } {
  return workerEntry(path.join(__dirname, 'worker-main.ts'), 'training-worker');
}

export class CancelledError extends Error {
  constructor(what: string) {
    super(`${what} was cancelled`);
    this.name = 'CancelledError';
  }
}

export interface WorkerHandlers {
  onProgress?: (message: string, percentage?: number) => void;
  onMetrics?: (metrics: Extract<FromWorker, { type: 'metrics' }>['metrics']) => void;
}

/** One task in its own worker thread. */
export class WorkerRun<T extends WorkerOutput> {
  /** Worker threads started and not yet ended (for the memory report). */
  static running = 0;
  readonly result: Promise<T>;
  private readonly worker: Worker;
  private cancelled = false;

  constructor(
    readonly what: string,
    task: WorkerTask,
    handlers: WorkerHandlers = {},
  ) {
    const entry = serverWorkerEntry();
    // The worker's console goes to our stderr: with --stdio, our stdout is the LSP channel.
    this.worker = new Worker(entry.script, { eval: entry.eval, workerData: task, stdout: true, stderr: true });
    this.worker.stdout.pipe(process.stderr);
    this.worker.stderr.pipe(process.stderr);
    WorkerRun.running++;
    this.worker.once('exit', () => WorkerRun.running--);
    this.result = new Promise<T>((resolve, reject) => {
      let settled = false;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        f();
        void this.worker.terminate();
      };
      this.worker.on('message', (m: FromWorker) => {
        if (m.type === 'progress') handlers.onProgress?.(m.message, m.percentage);
        else if (m.type === 'metrics') handlers.onMetrics?.(m.metrics);
        else if (m.type === 'done') settle(() => resolve(m.output as T));
        else if (m.type === 'failed') settle(() => reject(new Error(m.message)));
      });
      this.worker.on('error', (err) => settle(() => reject(new Error(`the ${what} worker crashed: ${err.message}`))));
      this.worker.on('exit', (code) =>
        settle(() => reject(this.cancelled ? new CancelledError(what) : new Error(`the ${what} worker exited unexpectedly (code ${code})`))),
      );
    });
  }

  /** Asks the task to stop cleanly (training jobs checkpoint and return). */
  stop(): void {
    this.worker.postMessage({ type: 'stop' } satisfies ToWorker);
  }

  /** Ends the worker now (adaptation, hardness: nothing to keep). */
  cancel(): void {
    this.cancelled = true;
    void this.worker.terminate();
  }
}
