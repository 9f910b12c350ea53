/**
 * A thread of meta-testing (bundled as dist/fewshot-worker.js): rebuilds the initialisation once, then adapts and
 * scores the (K, sample) units it is sent, one at a time (see fewshot-pool.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../engine/backend';
import { scoreSample } from '../meta/fewshot-eval';
import { buildInit, FewShotWorkerData, FromFewShotWorker, ToFewShotWorker } from './fewshot-pool';

const port = parentPort;
if (!port) throw new Error('fewshot-worker.ts runs as a worker thread of fewShotEvalOnWorkers');
const post = (m: FromFewShotWorker) => port.postMessage(m);

async function main(): Promise<void> {
  const { source, target, options, backend } = workerData as FewShotWorkerData;
  await initBackend(backend);
  const init = buildInit(source);
  port!.on('message', (u: ToFewShotWorker) => {
    try {
      post({ type: 'result', score: scoreSample(init, target, options, u.k, u.sample) });
    } catch (err) {
      post({ type: 'failed', message: (err as Error).message });
    }
  });
  post({ type: 'ready' });
}

main().catch((err: Error) => post({ type: 'failed', message: `could not start: ${err.message}` }));
