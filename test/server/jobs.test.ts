import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as P from '../../server/protocol';
import { sharedServer, shipped, TestClient } from './lsp-client';

const root = path.resolve(__dirname, '..', '..');
const fixtures = path.join(root, 'test', 'fixtures', 'corpora');
const server = sharedServer('mb-jobs-', { corporaRoot: fixtures });
const tmp = server.tmp;

/** A meta-training job small enough for a test: tiny LSTM, few tasks of 3 sentences, a checkpoint every iteration. */
const META: P.MetaJobParams = { kind: 'meta', method: 'metabioner', target: 'Disease', corporaRoot: fixtures, k: 3, iterations: 6, tasksPerIteration: 2, innerSteps: 1, hidden: 8, checkpointEvery: 1 };

const { request } = server;
const client = () => server.client;

test('task hardness: sampled tasks with their sentences, entity spans and γ from the current model', async () => {
  const r = await request<P.HardnessParams, P.HardnessResult>(P.HardnessRequest.type, { corpora: ['NCBI-disease', 'BC5CDR-chem'], k: 3, tasks: 3, innerSteps: 1, seed: 4, workDoneToken: 'h' });
  assert.equal(r.model, shipped.info.name);
  assert.equal(r.tasks.length, 3);
  for (const t of r.tasks) {
    assert.ok(['NCBI-disease', 'BC5CDR-chem'].includes(t.corpus));
    assert.equal(t.support.length, 3);
    assert.equal(t.query.length, 3);
    assert.ok(t.labelLoss > 0 && Number.isFinite(t.labelLoss));
    for (const s of t.support) for (const e of s.entities) assert.ok(e.start < e.end && e.end <= s.tokens.length);
  }
  const sum = r.tasks.reduce((a, t) => a + t.gamma.phi, 0);
  assert.ok(Math.abs(sum - 1) < 1e-9, `γ sums to ${sum}`);
  await assert.rejects(request(P.HardnessRequest.type, { corpora: ['NoSuchCorpus'] }), /no train split for corpus "NoSuchCorpus"/);
});

test('a meta-training job streams metrics, stops with a checkpoint and resumes where it stopped', async () => {
  // Far more iterations than the test waits for, so that it is always running when asked to stop.
  const started = await request<P.JobParams, P.JobInfo>(P.StartJobRequest.type, { ...META, iterations: 5000 });
  assert.equal(started.state, 'running');
  const m = await client().waitFor<P.JobMetricsParams>(P.JobMetricsNotification.type, (p) => p.id === started.id && p.metrics.step >= 2);
  assert.equal(m.metrics.total, 5000);
  assert.equal(m.metrics.hardness?.length, 2);
  assert.ok(m.metrics.hardness!.every((h) => !['NCBI-disease', 'BC5CDR-disease'].includes(h.corpus)), 'target-domain corpora stay out');
  // The server answers while the job trains.
  assert.equal((await request<undefined, P.ServerStatus>(P.StatusRequest.type, undefined)).state, 'ready');
  const stopped = await request<P.JobIdParams, P.JobInfo>(P.StopJobRequest.type, { id: started.id });
  assert.equal(stopped.state, 'stopped');
  assert.ok(stopped.resumable);
  const at = stopped.metrics!.step;

  const listed = await request<undefined, P.JobInfo[]>(P.ListJobsRequest.type, undefined);
  assert.deepEqual(listed.map((j) => [j.id, j.state]), [[started.id, 'stopped']]);

  const resumedAt = client().next<P.JobMetricsParams>(P.JobMetricsNotification.type, (p) => p.id === started.id);
  const resumed = await request<P.JobIdParams, P.JobInfo>(P.ResumeJobRequest.type, { id: started.id });
  assert.equal(resumed.state, 'running');
  assert.equal((await resumedAt).metrics.step, at + 1, 'resumed at the iteration after the checkpoint');
  assert.equal((await request<P.JobIdParams, P.JobInfo>(P.StopJobRequest.type, { id: started.id })).state, 'stopped');
});

test('supervised and multi-task jobs train, evaluate on devel and leave models', async () => {
  const job = await request<P.JobParams, P.JobInfo>(P.StartJobRequest.type, { kind: 'supervised', corpora: ['NCBI-disease'], epochs: 1, maxTrainSentences: 20, hidden: 8 });
  const done = await client().waitFor<P.JobInfo>(P.JobStateNotification.type, (j) => j.id === job.id && j.state !== 'running');
  assert.equal(done.state, 'finished', done.error);
  assert.ok(done.metrics?.develF1 !== undefined);
  assert.ok(fs.existsSync(path.join(done.modelPath!, 'weights.bin')));

  const mtl = await request<P.JobParams, P.JobInfo>(P.StartJobRequest.type, { kind: 'multitask', corpora: ['NCBI-disease', 'BC5CDR-chem'], sharing: 'heads', epochs: 1, maxTrainSentences: 20, hidden: 8 });
  const stage = await client().waitFor<P.JobMetricsParams>(P.JobMetricsNotification.type, (p) => p.id === mtl.id);
  assert.equal(stage.metrics.stage, 'multitask');
  const finished = await client().waitFor<P.JobInfo>(P.JobStateNotification.type, (j) => j.id === mtl.id && j.state !== 'running');
  assert.equal(finished.state, 'finished', finished.error);
  assert.ok(fs.existsSync(path.join(finished.modelPath!, 'NCBI-disease', 'manifest.json')), 'one model per corpus');
});

test('bad job requests are refused before a worker starts', async () => {
  await assert.rejects(request(P.StartJobRequest.type, { kind: 'multitask', corpora: ['NCBI-disease'] }), /invalid metabioner\/jobs\/start parameters: corpora: a multi-task job needs at least two corpora$/);
  await assert.rejects(request(P.StartJobRequest.type, { kind: 'transfer', corpora: ['NCBI-disease'] }), /invalid metabioner\/jobs\/start parameters: kind: Invalid discriminator value\. Expected 'supervised' \| 'meta' \| 'multitask'$/);
  await assert.rejects(request(P.StartJobRequest.type, { ...META, target: 'Plants' }), /invalid metabioner\/jobs\/start parameters: target: must be a target domain: Disease, Drug\/Chemical, Gene, Species$/);
  await assert.rejects(request(P.StartJobRequest.type, { ...META, method: 'reptile' }), /invalid metabioner\/jobs\/start parameters: method: Invalid option: expected one of "metabioner"\|"metaner"\|"maml"\|"metabioner-nes"$/);
  await assert.rejects(request(P.ResumeJobRequest.type, { id: 'nope' }), /There is no training job "nope"/);
});

test('a compute worker dying mid-iteration fails the job with its cause; the checkpoint survives; the server stays up', async () => {
  const storageDir = path.join(tmp, 'compute-crash-storage');
  const crashy = await TestClient.start({ storageDir, settings: { corporaRoot: fixtures }, env: { METABIONER_FAULT: 'crash-compute-worker-after:3' } });
  try {
    await crashy.ready();
    // Two tasks per iteration on two threads: worker 1 adapts one task per iteration and dies in iteration 4.
    const job = await crashy.connection.sendRequest(P.StartJobRequest.type, { ...META, workers: 2 });
    const failed = await crashy.waitFor<P.JobInfo>(P.JobStateNotification.type, (j) => j.id === job.id && j.state === 'failed');
    assert.match(failed.error!, /compute worker 1 crashed: injected compute-worker fault/);
    assert.ok(failed.resumable, 'its checkpoint survived');
    assert.equal(failed.metrics?.step, 3);
    assert.equal((await crashy.connection.sendRequest(P.StatusRequest.type)).state, 'ready');
    assert.ok(crashy.alive);
  } finally {
    assert.equal(await crashy.stop(), 0);
  }
});

test('the corpora request lists the corpus folders of the settings folder or of a given one', async () => {
  const r = await request<P.CorporaParams, P.CorporaResult>(P.CorporaRequest.type, {});
  assert.equal(r.root, fixtures);
  assert.deepEqual(r.corpora, ['BC2GM', 'BC5CDR-chem', 'BC5CDR-disease', 'JNLPBA', 'LINNAEUS', 'NCBI-disease', 'S800']);
  assert.deepEqual((await request<P.CorporaParams, P.CorporaResult>(P.CorporaRequest.type, { corporaRoot: path.join(fixtures, 'S800') })).corpora, []);
});
