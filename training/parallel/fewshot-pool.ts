import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BackendChoice } from '../engine/backend';
import { activeBackend } from '../engine/backend';
import { EmbeddingTable } from '../embeddings/store';
import { collectScores, FewShotEvalOptions, FewShotScores, FewShotTarget, fewShotEval, SampleScore, scratchModel, unitsOf } from '../meta/fewshot-eval';
import { loadModel } from '../model/model-io';
import type { NerModel } from '../model/ner-model';
import { CharVocab } from '../model/vocab';
import { workerEntry } from './worker-entry';

/** Where meta-testing starts from, in a form every thread can rebuild: a model directory, or a fresh tagger. */
export type InitSource =
  | { kind: 'model'; dir: string }
  | { kind: 'scratch'; wordsFile: string; chars: string[]; hidden: number; layers: number; seed: number };

export function buildInit(source: InitSource): NerModel {
  if (source.kind === 'model') return loadModel(source.dir);
  return scratchModel(EmbeddingTable.load(source.wordsFile), new CharVocab(source.chars), { hidden: source.hidden, layers: source.layers }, source.seed);
}

export interface FewShotWorkerData {
  source: InitSource;
  target: FewShotTarget;
  options: FewShotEvalOptions;
  backend: Exclude<BackendChoice, 'auto'>;
}

export type ToFewShotWorker = { k: number; sample: number };
export type FromFewShotWorker = { type: 'ready' } | { type: 'result'; score: SampleScore } | { type: 'failed'; message: string };

/**
 * Meta-testing on `workers` threads: every (K, sample) unit (all of them, or `options.units`) — adapt a copy of the initialisation on that support
 * set, score it — is independent and seeded by itself, so the scores are those of `fewShotEval` on one thread
 * whatever the worker count. Units go to whichever thread is free. With 1 worker, everything runs here.
 */
export async function fewShotEvalOnWorkers(
  source: InitSource,
  target: FewShotTarget,
  options: FewShotEvalOptions,
  workers: number,
  onResult?: (r: SampleScore) => void,
  signal?: AbortSignal,
): Promise<FewShotScores> {
  const units = unitsOf(options);
  const results: SampleScore[] = [];
  const n = Math.max(1, Math.min(workers, units.length));
  if (n === 1) {
    const init = buildInit(source);
    try {
      return fewShotEval(init, target, options, onResult, signal);
    } finally {
      init.dispose();
    }
  }
  const data: FewShotWorkerData = { source, target, options, backend: activeBackend()?.name ?? 'wasm' };
  const entry = workerEntry(path.join(__dirname, 'fewshot-worker.ts'), 'fewshot-worker');
  const queue = [...units];
  const threads: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let active = n;
      const finish = () => {
        if (--active === 0) resolve();
      };
      for (let i = 0; i < n; i++) {
        const worker = new Worker(entry.script, { eval: entry.eval, workerData: data, stdout: true, stderr: true });
        worker.stdout.pipe(process.stderr);
        worker.stderr.pipe(process.stderr);
        threads.push(worker);
        let done = false;
        const next = () => {
          const unit = signal?.aborted ? undefined : queue.shift();
          if (unit) worker.postMessage(unit satisfies ToFewShotWorker);
          else {
            done = true;
            void worker.terminate();
            finish();
          }
        };
        worker.on('message', (m: FromFewShotWorker) => {
          if (m.type === 'failed') return reject(new Error(`few-shot worker ${i + 1}: ${m.message}`));
          if (m.type === 'result') {
            results.push(m.score);
            onResult?.(m.score);
          }
          next();
        });
        worker.on('error', (err) => reject(new Error(`few-shot worker ${i + 1} crashed: ${err.message}`)));
        worker.on('exit', (code) => {
          if (!done) reject(new Error(`few-shot worker ${i + 1} exited unexpectedly (code ${code})`));
        });
      }
    });
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
  return collectScores(options.ks, results);
}
