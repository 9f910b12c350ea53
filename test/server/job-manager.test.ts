/**
 * The job manager in this process, with real worker threads: a worker crash injected through the task's
 * worker data (never the environment), and a job-state write that fails.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { JobEvents, JobManager, JobManagerOptions } from '../../server/jobs';
import * as P from '../../server/protocol';
import { TestClient } from './lsp-client';

const root = path.resolve(__dirname, '..', '..');
const fixtures = path.join(root, 'test', 'fixtures', 'corpora');
const shippedModel = path.join(root, 'models', 'default');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-job-manager-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const META: P.MetaJobParams = { kind: 'meta', method: 'metabioner', target: 'Disease', corporaRoot: fixtures, k: 3, iterations: 6, tasksPerIteration: 2, innerSteps: 1, hidden: 8, checkpointEvery: 1 };
const SETTINGS = { backend: 'wasm' as const, workers: 1 };

/** A JobManager whose events are recorded; `ended(id)` resolves with the job once it leaves running/stopping. */
function manager(storageDir: string, options?: JobManagerOptions) {
  const states: P.JobInfo[] = [];
  const warnings: string[] = [];
  const waiting: { id: string; resolve: (j: P.JobInfo) => void }[] = [];
  const metricWaiters: { id: string; step: number; resolve: () => void }[] = [];
  const events: JobEvents = {
    onState: (job) => {
      states.push(job);
      if (job.state === 'running' || job.state === 'stopping') return;
      for (const w of waiting.filter((x) => x.id === job.id)) w.resolve(job);
    },
    onMetrics: (id, metrics) => {
      for (const w of metricWaiters.filter((x) => x.id === id && metrics.step >= x.step)) {
        metricWaiters.splice(metricWaiters.indexOf(w), 1);
        w.resolve();
      }
    },
    onWarning: (m) => warnings.push(m),
  };
  const jobs = new JobManager(storageDir, events, options);
  const ended = (id: string) => new Promise<P.JobInfo>((resolve) => waiting.push({ id, resolve }));
  const reached = (id: string, step: number) => new Promise<void>((resolve) => metricWaiters.push({ id, step, resolve }));
  return { jobs, states, warnings, ended, reached };
}

test('a worker crashing mid-job (fault handed over as worker data) fails that job with a clear error; a server resumes it and it finishes', async () => {
  const storageDir = path.join(tmp, 'crash');
  const { jobs, ended } = manager(storageDir, { fault: { crashAfterMetrics: 2 } });
  const job = jobs.start(META, fixtures, shippedModel, SETTINGS);
  const failed = await ended(job.id);
  assert.equal(failed.state, 'failed');
  assert.match(failed.error!, /^the meta training worker crashed: injected fault \(JobFault\)$/);
  assert.ok(failed.resumable, 'its checkpoint survived');
  assert.equal(JSON.parse(fs.readFileSync(path.join(storageDir, 'jobs', job.id, 'job.json'), 'utf8')).state, 'failed');

  // A language server on the same storage lists the failed job and resumes it from its checkpoint; the
  // production path has no fault switch (no environment variable reaches its workers' behaviour).
  const healthy = await TestClient.start({ storageDir, settings: { corporaRoot: fixtures }, env: { METABIONER_FAULT: 'crash-job-after:1' } });
  try {
    await healthy.ready();
    const [listed] = await healthy.connection.sendRequest(P.ListJobsRequest.type);
    assert.equal(listed.state, 'failed');
    const resumedAt = healthy.next<P.JobMetricsParams>(P.JobMetricsNotification.type);
    const finished = healthy.next<P.JobInfo>(P.JobStateNotification.type, (j) => j.state === 'finished' || j.state === 'failed');
    await healthy.connection.sendRequest(P.ResumeJobRequest.type, { id: listed.id });
    assert.equal((await resumedAt).metrics.step, 3);
    const done = await finished;
    assert.equal(done.state, 'finished', done.error);
    const used = await healthy.connection.sendRequest(P.UseModelRequest.type, { path: done.modelPath! });
    assert.deepEqual(used.types, ['Entity']);
  } finally {
    assert.equal(await healthy.stop(), 0);
  }
});

test('a job-state write that fails is a warning, not an unhandled rejection: the job still ends and nothing is written over what is in the way', async () => {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  try {
    const storageDir = path.join(tmp, 'unwritable');
    const { jobs, states, warnings, ended } = manager(storageDir);
    // No corpora in this folder: the worker fails at once, and its end is the write that fails.
    const empty = path.join(tmp, 'no-corpora');
    fs.mkdirSync(empty, { recursive: true });
    const job = jobs.start({ ...META, corporaRoot: empty }, empty, shippedModel, SETTINGS);
    const jobFile = path.join(storageDir, 'jobs', job.id, 'job.json');
    const saved = fs.readFileSync(jobFile, 'utf8');
    // job.json becomes a folder: renaming the new state over it fails, even for root.
    fs.rmSync(jobFile);
    fs.mkdirSync(path.join(jobFile, 'in-the-way'), { recursive: true });
    const failed = await ended(job.id);
    assert.equal(failed.state, 'failed');
    assert.match(failed.error!, /no source corpora for target Disease/);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], new RegExp(`^The state of training job ${job.id} \\(failed\\) could not be saved to its job\\.json: .*(EISDIR|ENOTEMPTY|EEXIST|directory).*After a restart the job may be listed in an older state\\.$`));
    assert.deepEqual(states.map((s) => s.state), ['running', 'failed']);
    assert.deepEqual(jobs.list().map((j) => j.state), ['failed']);
    assert.ok(fs.statSync(jobFile).isDirectory(), 'nothing was written over what was there');
    assert.equal(JSON.parse(saved).state, 'running');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(rejections, []);
  } finally {
    process.off('unhandledRejection', onRejection);
  }
});

test('a job.json that is not valid (unbounded parameters, an id that is not its folder) is listed as failed and never resumed', () => {
  const storageDir = path.join(tmp, 'tampered');
  const folder = path.join(storageDir, 'jobs');
  const save = (name: string, job: unknown) => {
    fs.mkdirSync(path.join(folder, name), { recursive: true });
    fs.writeFileSync(path.join(folder, name, 'job.json'), JSON.stringify(job));
  };
  const ok: P.JobInfo = { id: 'meta-20260101000000-abcd', kind: 'meta', params: { ...META }, state: 'running', created: '2026-01-01T00:00:00.000Z', resumable: true };
  save(ok.id, ok);
  save('huge', { ...ok, id: 'huge', params: { ...META, iterations: 1e308 } });
  save('escape', { ...ok, id: '../../escape' });
  save('garbage', [1, 2, 3]);
  const { jobs } = manager(storageDir);
  const listed = Object.fromEntries(jobs.list().map((j) => [j.id, j]));
  assert.deepEqual(Object.keys(listed).sort(), ['escape', 'garbage', 'huge', ok.id]);
  assert.equal(listed[ok.id].state, 'stopped', 'a job left running is listed as stopped');
  assert.equal(listed.huge.state, 'failed');
  assert.equal(listed.huge.error, 'Job huge cannot be resumed: its job.json is not valid (params.iterations: Too big: expected number to be <=1000000).');
  assert.equal(listed.escape.error, 'Job escape cannot be resumed: its job.json is not valid (id: must be a job id as the server gave it).');
  assert.match(listed.garbage.error!, /^Job garbage cannot be resumed: its job\.json is not valid \(job: Invalid input: expected object, received array\)\.$/);
  for (const id of ['huge', 'escape', 'garbage']) {
    assert.throws(() => jobs.resume(id, shippedModel, SETTINGS), new RegExp(`^Error: Job ${id} cannot be resumed`));
  }
  assert.equal(fs.existsSync(path.join(tmp, 'escape')), false);
});

test('a corrupt checkpoint is refused with its reason when a job resumes, never resumed from', async () => {
  const storageDir = path.join(tmp, 'corrupt-checkpoint');
  const { jobs, ended, reached } = manager(storageDir);
  const job = jobs.start({ ...META, iterations: 5000 }, fixtures, shippedModel, SETTINGS);
  await reached(job.id, 2);
  const stopped = await jobs.stop(job.id);
  assert.equal(stopped.state, 'stopped');
  assert.ok(stopped.resumable);
  const tensors = path.join(storageDir, 'jobs', job.id, 'checkpoint', 'tensors.bin');
  const bytes = fs.readFileSync(tensors);
  bytes[bytes.length >> 1] ^= 0xff;
  fs.writeFileSync(tensors, bytes);
  const end = ended(job.id);
  jobs.resume(job.id, shippedModel, SETTINGS);
  const failed = await end;
  assert.equal(failed.state, 'failed');
  assert.match(failed.error!, /checkpoint.*tensors\.bin does not match its checksum/);
  assert.equal(failed.modelPath, undefined);
  assert.equal(fs.existsSync(path.join(storageDir, 'jobs', job.id, 'model')), false, 'nothing was trained from it');
});
