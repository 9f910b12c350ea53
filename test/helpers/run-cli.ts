import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const fixtureCorpora = path.join(repoRoot, 'test', 'fixtures', 'corpora');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Working directory (default: the repository). */
  cwd?: string;
  /** Variables on top of this process' environment and the defaults below. */
  env?: Record<string, string>;
  input?: string;
  timeout?: number;
}

/** Runs the built CLI (npm test builds dist/ first) with the wasm backend and a private cache under `tmp`. */
export function runCli(tmp: string, args: readonly string[], o: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'metabioner.js'), ...args], {
    cwd: o.cwd ?? repoRoot,
    encoding: 'utf8',
    input: o.input,
    timeout: o.timeout,
    env: { ...process.env, METABIONER_BACKEND: 'wasm', METABIONER_CACHE: path.join(tmp, 'cache'), ...o.env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** runCli with fixed options, taking the arguments as its parameters. */
export function cliIn(tmp: string, options: CliOptions = {}): (...args: string[]) => CliResult {
  return (...args) => runCli(tmp, args, options);
}
