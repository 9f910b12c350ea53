/**
 * Entry point of the server's worker threads (bundled as dist/training-worker.js): runs one task — an
 * adaptation, a hardness computation or a training job — with its own TensorFlow.js backend, and reports
 * to the main thread, which stays free to answer the editor.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../../training/engine/backend';
import { adaptFewShot, DEFAULT_EXTEND } from '../../training/meta/adapt';
import { loadModel, saveModel } from '../../training/model/model-io';
import type { JobMetrics } from '../protocol';
import { computeHardness } from './hardness';
import { jobCheckpointDir, jobKind, jobModelDir } from './job-kinds';
import type { FromWorker, JobTask, ToWorker, WorkerOutput, WorkerTask } from './messages';

const port = parentPort;
if (!port) throw new Error('worker-main.ts runs as a worker thread of the language server');
const post = (m: FromWorker) => port.postMessage(m);
const controller = new AbortController();
port.on('message', (m: ToWorker) => {
  if (m.type === 'stop') controller.abort();
});

/**
 * Training jobs run at a lower CPU priority than the thread that answers the editor. On Linux a thread has its
 * own id and nice value: /proc/thread-self names this thread. Elsewhere, or if not allowed, nothing changes.
 */
function lowerThreadPriority(): void {
  try {
    const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    if (tid > 0) os.setPriority(tid, 10);
  } catch {
    // not Linux, or not permitted: run at the normal priority
  }
}

async function runJob(task: JobTask): Promise<WorkerOutput> {
  lowerThreadPriority();
  const spec = jobKind(task.params.kind);
  spec.validate(task.params);
  const base = loadModel(task.wordsFrom);
  base.dispose(); // only its word vectors are used
  let reports = 0;
  // Test hook, from the task (worker data) a test's JobManager was given; never from the environment.
  const crashAfter = task.fault?.crashAfterMetrics ?? Infinity;
  const run = await spec.run(task.params, {
    words: base.words,
    corporaRoot: (task.params as { corporaRoot: string }).corporaRoot,
    workers: task.workers,
    checkpointDir: jobCheckpointDir(task.jobDir),
    signal: controller.signal,
    report: (metrics: JobMetrics) => {
      post({ type: 'metrics', metrics });
      if (++reports === crashAfter) setImmediate(() => { throw new Error('injected fault (JobFault)'); });
    },
  });
  try {
    if (run.cancelled) return { cancelled: true };
    const modelPath = jobModelDir(task.jobDir);
    run.save(modelPath);
    return { cancelled: false, modelPath };
  } finally {
    run.dispose();
  }
}

async function run(task: WorkerTask): Promise<WorkerOutput> {
  await initBackend(task.backend);
  switch (task.kind) {
    case 'adapt': {
      post({ type: 'progress', message: 'loading the model', percentage: 5 });
      const from = loadModel(task.modelDir, { convention: task.convention });
      post({ type: 'progress', message: `adapting on ${task.support.length} sentences`, percentage: 15 });
      // The model keeps what it knew and learns the labelled types beside it (DEFAULT_EXTEND).
      const adapted = adaptFewShot(from, task.support, { ...DEFAULT_EXTEND, epochs: task.epochs, lr: task.lr });
      post({ type: 'progress', message: 'saving the adapted model', percentage: 90 });
      saveModel(adapted, task.outDir);
      const out = { dir: task.outDir, name: adapted.info.name, types: adapted.types };
      adapted.dispose();
      from.dispose();
      return out;
    }
    case 'hardness': {
      post({ type: 'progress', message: 'sampling tasks', percentage: 10 });
      const model = loadModel(task.modelDir, { convention: task.convention });
      try {
        return computeHardness(model, task.corporaRoot, task.params);
      } finally {
        model.dispose();
      }
    }
    case 'job':
      return runJob(task);
  }
}

run(workerData as WorkerTask).then(
  (output) => post({ type: 'done', output }),
  (err: unknown) => post({ type: 'failed', message: err instanceof Error ? err.message : String(err) }),
);
