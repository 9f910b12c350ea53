import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * How to start a worker thread: the bundled `dist/<bundled>.js` beside the running bundle (cli.js, server.js and
 * the workers all live in dist/, see scripts/build.mjs), or — when running from the TypeScript sources (tests,
 * `node --import tsx`) — a two-line bootstrap that registers tsx's require hook in the worker and then loads
 * `source` (`--import tsx` in a worker's execArgv does not reach the worker's entry script on Node 20).
 */
export function workerEntry(source: string, bundled: string): { script: string; eval: boolean } {
  if (__filename.endsWith('.ts')) {
    // resolved at run time (createRequire), so that the bundler does not try to include tsx
    const tsx = createRequire(__filename).resolve('tsx/cjs');
    return { script: `require(${JSON.stringify(tsx)}); require(${JSON.stringify(source)});`, eval: true };
  }
  return { script: path.join(__dirname, `${bundled}.js`), eval: false };
}

/** The default worker count: every core the process may use. */
export function defaultWorkers(): number {
  return Math.max(1, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length);
}

/** A --workers / setting value: a positive integer, or 0 / undefined for every core. */
export function resolveWorkers(n: number | undefined): number {
  if (n === undefined || n === 0) return defaultWorkers();
  if (!Number.isInteger(n) || n < 0) throw new Error(`workers must be a whole number ≥ 0 (0 = every core), not ${n}`);
  return n;
}
