import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const fixtureCorpora = path.join(repoRoot, 'test', 'fixtures', 'corpora');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A runner of the built CLI (npm test builds dist/ first) with the wasm backend and a private cache under `tmp`. */
export function cliIn(tmp: string): (...args: string[]) => CliResult {
  return (...args) => {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'metabioner.js'), ...args], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, METABIONER_BACKEND: 'wasm', METABIONER_CACHE: path.join(tmp, 'cache') },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}
