/**
 * bench:fewshot's resumable state: every scored unit (method, K, corpus, support sample) is one line appended to
 * scores.jsonl as soon as it is done, so a killed run loses at most the units in flight; times.json keeps how
 * long each initialisation trained and each session ran.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../training/io/atomic';
import type { CorpusScore } from '../training/meta/fewshot-eval';

export interface StoredScore extends CorpusScore {
  method: string;
  k: number;
  corpus: string;
  sample: number;
  /** Extend mode: scores on the corpora the initialisation knew. */
  retained?: Record<string, CorpusScore>;
  /** Wall seconds of the unit (adaptation and scoring; on a worker thread, concurrent with others). */
  seconds: number;
}

export const unitKey = (method: string, k: number, corpus: string, sample: number): string => `${method}|${k}|${corpus}|${sample}`;

export class ScoreStore {
  private readonly scores = new Map<string, StoredScore>();

  constructor(readonly file: string) {
    if (!fs.existsSync(file)) return;
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const s = JSON.parse(line) as StoredScore;
        this.scores.set(unitKey(s.method, s.k, s.corpus, s.sample), s);
      } catch {
        // the last line of a killed run, cut short: that unit runs again
      }
    }
  }

  has(method: string, k: number, corpus: string, sample: number): boolean {
    return this.scores.has(unitKey(method, k, corpus, sample));
  }

  get(method: string, k: number, corpus: string, sample: number): StoredScore | undefined {
    return this.scores.get(unitKey(method, k, corpus, sample));
  }

  add(s: StoredScore): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    fs.appendFileSync(this.file, JSON.stringify(s) + '\n');
    this.scores.set(unitKey(s.method, s.k, s.corpus, s.sample), s);
  }

  all(): StoredScore[] {
    return [...this.scores.values()];
  }
}

export interface Times {
  /** Training seconds of each initialisation (all its sessions). */
  inits: Record<string, number>;
  /** Wall seconds of each invocation that ran units. */
  sessions: { started: string; seconds: number }[];
}

export class TimeBook {
  readonly times: Times;
  private readonly session: { started: string; seconds: number };
  private readonly t0 = Date.now();

  constructor(readonly file: string) {
    this.times = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Times) : { inits: {}, sessions: [] };
    this.session = { started: new Date().toISOString(), seconds: 0 };
  }

  /** Starts counting this invocation as a session (a report-only run is none). */
  open(): void {
    this.times.sessions.push(this.session);
    this.save();
  }

  /** An initialisation's training time (its trainer counts it across resumed sessions). */
  setInit(key: string, seconds: number): void {
    this.times.inits[key] = Math.round(seconds);
    this.save();
  }

  save(): void {
    this.session.seconds = Math.round((Date.now() - this.t0) / 1000);
    writeFileAtomic(this.file, JSON.stringify(this.times, null, 1) + '\n');
  }

  get wallSeconds(): number {
    return this.times.sessions.reduce((a, s) => a + s.seconds, 0);
  }
}
