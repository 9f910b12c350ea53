import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../training/io/atomic';
import { savedJobOf } from './contract';
import type { JobInfo, JobMetrics, JobParams, Settings } from './protocol';
import { jobCheckpointDir, jobKind } from './worker/job-kinds';
import type { JobFault, JobOutput } from './worker/messages';
import { WorkerRun } from './worker/spawn';

const JOB_FILE = 'job.json';

/** The settings a job's worker is started with. */
export type JobSettings = Pick<Settings, 'backend' | 'workers'>;

export interface JobEvents {
  onState(job: JobInfo): void;
  onMetrics(id: string, metrics: JobMetrics): void;
  /** Something the user should know that did not stop the job (its state could not be saved). */
  onWarning(message: string): void;
}

export interface JobManagerOptions {
  /** Test hook, handed to each job's worker as worker data: the worker crashes after this many metrics. */
  fault?: JobFault;
}

/**
 * Training jobs, each in its own worker thread and folder (`<storage>/jobs/<id>`: job.json, checkpoint/,
 * model/). Stopping asks the loop to checkpoint and return; resuming starts a worker on the same folder and
 * the loop continues from the checkpoint. A crashed worker marks its job failed (resumable from its last
 * checkpoint); the server is not affected. Jobs left running by a server that went away are listed as stopped.
 */
export class JobManager {
  private readonly jobs = new Map<string, JobInfo>();
  private readonly runs = new Map<string, WorkerRun<JobOutput>>();
  /** Jobs whose job.json could not be used, and why (they are listed as failed and never resumed). */
  private readonly broken = new Map<string, string>();
  private readonly root: string;

  constructor(
    storageDir: string,
    private readonly events: JobEvents,
    private readonly options: JobManagerOptions = {},
  ) {
    this.root = path.join(storageDir, 'jobs');
    fs.mkdirSync(this.root, { recursive: true });
    for (const id of fs.readdirSync(this.root)) {
      let raw: unknown;
      try {
        raw = JSON.parse(fs.readFileSync(path.join(this.root, id, JOB_FILE), 'utf8'));
      } catch {
        continue; // not a job folder
      }
      // A job.json is checked like a start request: its parameters reach a worker again on resume, and its id names
      // the folder it writes to. One that is not usable is listed as failed, and cannot be resumed.
      const job = savedJobOf(raw);
      if (typeof job === 'string' || job.id !== id) {
        const why = typeof job === 'string' ? job : `id: "${job.id.slice(0, 40)}" is not the name of its folder`;
        this.broken.set(id, `Job ${id} cannot be resumed: its ${JOB_FILE} is not valid (${why}).`);
        this.jobs.set(id, { id, kind: 'supervised', params: { kind: 'supervised', corpora: [] }, state: 'failed', created: new Date(0).toISOString(), error: this.broken.get(id), resumable: false });
        continue;
      }
      if (job.state === 'running' || job.state === 'stopping') job.state = 'stopped';
      this.jobs.set(id, job);
    }
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].sort((a, b) => a.created.localeCompare(b.created));
  }

  private dirOf(id: string): string {
    return path.join(this.root, id);
  }

  private get(id: string): JobInfo {
    const job = this.jobs.get(id);
    if (!job) throw new Error(`There is no training job "${id}".`);
    return job;
  }

  /**
   * Changes a job's state, saves it to its job.json and tells the client. A save that fails (disk full, the
   * folder gone) leaves the previous job.json as it was (the write is atomic) and is reported as a warning:
   * the job itself goes on, and its state in memory and in the client stays right.
   */
  private update(job: JobInfo, change: Partial<JobInfo>): void {
    Object.assign(job, change);
    job.resumable = fs.existsSync(path.join(jobCheckpointDir(this.dirOf(job.id)), 'checkpoint.json'));
    try {
      writeFileAtomic(path.join(this.dirOf(job.id), JOB_FILE), JSON.stringify(job, null, 1) + '\n');
    } catch (err) {
      this.events.onWarning(`The state of training job ${job.id} (${job.state}) could not be saved to its ${JOB_FILE}: ${err instanceof Error ? err.message : String(err)}. After a restart the job may be listed in an older state.`);
    }
    this.events.onState({ ...job });
  }

  /**
   * Starts a job in its own worker. `settings` are the server's settings when it starts (and again on each
   * resume): the backend, and the worker count used when the job's parameters give none.
   */
  start(params: JobParams, corporaRoot: string, wordsFrom: string, settings: JobSettings): JobInfo {
    jobKind(params.kind).validate(params);
    const id = `${params.kind}-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${Math.random().toString(36).slice(2, 6)}`;
    fs.mkdirSync(this.dirOf(id), { recursive: true });
    const job: JobInfo = { id, kind: params.kind, params: { ...params, corporaRoot: params.corporaRoot ?? corporaRoot }, state: 'running', created: new Date().toISOString(), resumable: false };
    this.jobs.set(id, job);
    this.launch(job, wordsFrom, settings);
    return { ...job };
  }

  resume(id: string, wordsFrom: string, settings: JobSettings): JobInfo {
    const job = this.get(id);
    const broken = this.broken.get(id);
    if (broken) throw new Error(broken);
    if (this.runs.has(id)) throw new Error(`Job ${id} is already running.`);
    if (job.state === 'finished') throw new Error(`Job ${id} has finished; its model is ${job.modelPath}.`);
    this.launch(job, wordsFrom, settings);
    return { ...job };
  }

  private launch(job: JobInfo, wordsFrom: string, settings: JobSettings): void {
    const task = { kind: 'job' as const, params: job.params, wordsFrom, jobDir: this.dirOf(job.id), backend: settings.backend, workers: settings.workers, fault: this.options.fault };
    const run = new WorkerRun<JobOutput>(`${job.kind} training`, task, {
      onMetrics: (metrics) => {
        job.metrics = metrics;
        this.events.onMetrics(job.id, metrics);
      },
    });
    this.runs.set(job.id, run);
    this.update(job, { state: 'running', error: undefined });
    run.result
      .then(
        (out) => this.update(job, out.cancelled ? { state: 'stopped' } : { state: 'finished', modelPath: out.modelPath }),
        (err: Error) => this.update(job, { state: 'failed', error: err.message }),
      )
      // Whatever the handlers above throw is reported, never left as an unhandled rejection (Node ends the process on those).
      .catch((err: unknown) => this.events.onWarning(`Training job ${job.id} ended, but its end could not be recorded: ${err instanceof Error ? err.message : String(err)}`))
      .finally(() => this.runs.delete(job.id));
  }

  /** Stops a running job at its next step (after a checkpoint); resolves when its worker has ended. */
  async stop(id: string): Promise<JobInfo> {
    const job = this.get(id);
    const run = this.runs.get(id);
    if (!run) return { ...job };
    this.update(job, { state: 'stopping' });
    run.stop();
    await run.result.catch(() => undefined);
    // The result handler above runs first (it was attached first).
    return { ...job };
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.runs.keys()].map((id) => this.stop(id)));
  }
}
