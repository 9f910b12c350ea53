/**
 * A compute worker of a training pool (bundled as dist/compute-worker.js): holds a replica of the weights in its
 * own TensorFlow.js engine, reads updated weights from the shared buffer, and computes the gradients of the
 * shards or meta-learning tasks it is sent into its region of the shared gradient buffer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend';
import { adaptAndQuery } from '../meta/fomaml';
import { makeVariable, Variables } from '../model/tagger';
import { disposeGrads } from '../train/step';
import { Rng } from '../util/random';
import type { FromComputeWorker, ToComputeWorker, WorkerInit } from './messages';
import { assignFromFlat, slotMap, writeFlat } from './param-layout';
import { decodePaths, shardGradients } from './shard-step';

const port = parentPort;
if (!port) throw new Error('compute-worker.ts runs as a worker thread of a training pool');
const init = workerData as WorkerInit;
const post = (m: FromComputeWorker) => port.postMessage(m);

/** Test hook: METABIONER_FAULT=crash-compute-worker-after:N makes worker 1 die (uncaught error) at its N+1-th job. */
function faultAfter(): number {
  const m = /^crash-compute-worker-after:(\d+)$/.exec(process.env.METABIONER_FAULT ?? '');
  return m && init.index === 1 ? Number(m[1]) : Infinity;
}

async function main(): Promise<void> {
  await initBackend(init.backend);
  const slots = slotMap(init.layout);
  const params = new Float32Array(init.params);
  const grads = new Float32Array(init.grads);
  const vars: Variables = {};
  for (const s of init.layout.slots) vars[s.name] = makeVariable(s.name, tf.tensor(params.slice(s.offset, s.offset + s.size), s.shape));
  const crashAfter = faultAfter();
  let jobs = 0;
  port!.on('message', (m: ToComputeWorker) => {
    // Outside the try: an uncaught error ends the thread, as a real crash would.
    if (m.type !== 'memory' && jobs++ >= crashAfter) throw new Error('injected compute-worker fault');
    try {
      if (m.type === 'memory') {
        post({ type: 'memory', id: m.id, numTensors: tf.memory().numTensors, rssBytes: process.memoryUsage().rss });
        return;
      }
      assignFromFlat(slots, vars, params, m.dirty);
      if (m.type === 'decode') {
        post({ type: 'decode', id: m.id, paths: decodePaths(vars, init.shape, m.view, m.batches) });
      } else if (m.type === 'grads') {
        const r = shardGradients(vars, init.shape, m.job);
        const region = grads.subarray(init.gradOffset, init.gradOffset + init.layout.size);
        writeFlat(slots, r.grads, region);
        disposeGrads(r.grads);
        post({ type: 'grads', id: m.id, loss: r.loss, names: Object.keys(r.grads) });
      } else {
        const wrt: Variables = Object.fromEntries(m.wrt.map((n) => [n, vars[n]]));
        const results = m.tasks.map((task, i) => {
          const o = adaptAndQuery(vars, wrt, init.shape, task, m.settings, new Rng(m.seeds[i]));
          const at = init.gradOffset + i * init.layout.size;
          writeFlat(slots, o.grads, grads.subarray(at, at + init.layout.size));
          disposeGrads(o.grads);
          return { labelLoss: o.labelLoss, criticLoss: o.criticLoss, names: Object.keys(o.grads) };
        });
        post({ type: 'meta', id: m.id, results });
      }
    } catch (err) {
      post({ type: 'failed', id: m.id, message: (err as Error).message });
    }
  });
  post({ type: 'ready' });
}

main().catch((err: Error) => post({ type: 'failed', id: -1, message: `could not start: ${err.message}` }));
