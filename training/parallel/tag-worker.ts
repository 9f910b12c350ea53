/**
 * Entry point of a tagging pool's worker thread (bundled as dist/tag-worker.js): starts its own TensorFlow.js
 * backend, loads the model once, then answers `predict` messages one at a time (see tag-pool.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../engine/backend';
import { loadModel } from '../model/model-io';
import type { FromTagWorker, TagWorkerData, ToTagWorker } from './tag-pool';

const port = parentPort;
if (!port) throw new Error('tag-worker.ts runs as a worker thread of a tagging pool');
const post = (m: FromTagWorker) => port.postMessage(m);

/**
 * Test hook: METABIONER_FAULT=crash-tag-after:N makes the worker throw an uncaught error when it receives its
 * (N+1)th predict message, exit-tag-after:N makes it exit with code 3 instead.
 */
function fault(): { kind: 'crash' | 'exit'; after: number } | undefined {
  const m = /^(crash|exit)-tag-after:(\d+)$/.exec(process.env.METABIONER_FAULT ?? '');
  return m ? { kind: m[1] as 'crash' | 'exit', after: Number(m[2]) } : undefined;
}

async function main(): Promise<void> {
  const { modelDir, backend, convention } = workerData as TagWorkerData;
  let model;
  try {
    await initBackend(backend);
    model = loadModel(modelDir, { convention });
    model.predict([['Warm', 'up', '.']]); // the first call compiles the backend's kernels
  } catch (err) {
    post({ type: 'failed', message: (err as Error).message, name: (err as Error).name });
    return;
  }
  const injected = fault();
  let served = 0;
  port!.on('message', (m: ToTagWorker) => {
    if (m.type === 'tensors') {
      post({ type: 'tensors', id: m.id, numTensors: tf.memory().numTensors });
      return;
    }
    if (injected && served++ === injected.after) {
      if (injected.kind === 'exit') process.exit(3);
      throw new Error('injected fault (METABIONER_FAULT)');
    }
    try {
      post({ type: 'result', id: m.id, predictions: model.predict(m.sentences) });
    } catch (err) {
      post({ type: 'failed', id: m.id, message: (err as Error).message, name: (err as Error).name });
    }
  });
  post({ type: 'ready' });
}

void main();
