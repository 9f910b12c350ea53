import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

const root = path.resolve(__dirname, '..', '..');
const fixtures = path.join(root, 'test', 'fixtures', 'corpora');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-pause-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the built CLI; `onStderr` sees its progress as it comes (to send it a signal at the right moment). */
function run(args: string[], onStderr?: (text: string, kill: (signal: NodeJS.Signals) => void) => void): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'metabioner.js'), ...args], {
      cwd: root,
      env: { ...process.env, METABIONER_BACKEND: 'wasm', METABIONER_CACHE: path.join(tmp, 'cache') },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, (signal) => child.kill(signal));
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('SIGTERM pauses a training command: checkpoint written, nothing scored or saved; the same command resumes and finishes', async () => {
  const ckpt = path.join(tmp, 'ckpt');
  const out = path.join(tmp, 'model');
  const args = ['train', '--corpus', 'S800', '--corpora-root', fixtures, '--epochs', '3', '--hidden', '8', '--max-train-sentences', '60', '--workers', '2', '--checkpoint', ckpt, '--out', out];
  let sent = false;
  const paused = await run(args, (text, kill) => {
    if (!sent && /epoch 1: loss/.test(text)) {
      sent = true;
      kill('SIGTERM');
    }
  });
  assert.equal(paused.code, 0, paused.stderr);
  assert.match(paused.stderr, /pausing: finishing the current step/);
  assert.match(paused.stderr, new RegExp(`paused; the checkpoint is in ${ckpt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.doesNotMatch(paused.stdout, /test: precision/);
  assert.ok(!fs.existsSync(out), 'no model written');
  assert.ok(fs.existsSync(path.join(ckpt, 'checkpoint.json')));

  const resumed = await run(args);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.doesNotMatch(resumed.stderr, /epoch 1: loss/, 'epoch 1 is not trained again');
  assert.match(resumed.stderr, /epoch 3: loss/);
  assert.match(resumed.stdout, /S800 test: precision [\d.]+ recall [\d.]+ F1 [\d.]+/);
  assert.ok(fs.existsSync(path.join(out, 'manifest.json')));
});
