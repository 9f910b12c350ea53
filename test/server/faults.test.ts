/**
 * Fault injection on the files the server writes: a write that fails (a full disk, here a file size limit:
 * EFBIG) leaves the previous file as it was and the user is told; a writer killed with SIGKILL at random
 * points leaves every file either old or new, never torn; a directory swap cut between its two renames is
 * repaired on the next read.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { LSPErrorCodes, ResponseError } from 'vscode-languageserver-protocol';
import * as P from '../../server/protocol';
import { initBackend } from '../../training/engine/backend';
import { recoverDir, writeDirAtomic } from '../../training/io/atomic';
import { loadModel } from '../../training/model/model-io';
import { TestClient } from './lsp-client';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-faults-'));
const writer = path.join(__dirname, 'helpers', 'fault-writer.ts');
before(() => initBackend('cpu'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const strays = (dir: string, name: string) => fs.readdirSync(dir).filter((f) => f.startsWith(`.${name}.`));

test('a label write that fails (file size limit, as a full disk) leaves the .ann as it was and says so in one line', async () => {
  const dir = path.join(tmp, 'efbig');
  fs.mkdirSync(dir);
  const text = 'Cisplatin causes nephrotoxicity in mice.\n';
  fs.writeFileSync(path.join(dir, 'notes.txt'), text);
  // 15.9 KiB of labels already: the next one takes the file past the 16 KiB the server may write.
  const lines: string[] = [];
  for (let i = 1; lines.join('\n').length < 16 * 1024 - 200; i++) lines.push(`T${i}\tChemical 0 9\tCisplatin`);
  const head = lines.join('\n') + '\n#1\tAnnotatorNotes T3\t';
  const before = head + 'x'.repeat(16 * 1024 - 10 - head.length - 1) + '\n';
  assert.equal(before.length, 16 * 1024 - 10);
  fs.writeFileSync(path.join(dir, 'notes.ann'), before);
  const c = await TestClient.start({ storageDir: path.join(dir, 'storage'), settings: { debounceMs: 0 }, fileSizeLimitKiB: 16 });
  try {
    assert.equal((await c.ready()).state, 'ready');
    const { uri, entities } = c.open(path.join(dir, 'notes.txt'));
    await entities;
    const range = c.rangeOf(uri, 'nephrotoxicity');
    const err = await c.connection.sendRequest(P.AddAnnotationRequest.type, { textDocument: { uri }, range, type: 'Disease' }).then(
      () => assert.fail('the label was written past the limit'),
      (e: unknown) => e as ResponseError<unknown>,
    );
    assert.equal(err.code, LSPErrorCodes.RequestFailed);
    assert.equal(err.message, 'notes.ann could not be written (EFBIG: the disk or quota is full); nothing was changed, the labels on disk are as before.');
    assert.equal(fs.readFileSync(path.join(dir, 'notes.ann'), 'utf8'), before);
    assert.deepEqual(strays(dir, 'notes.ann'), [], 'no temporary file left');
    // Room made: removing a label writes a smaller file, and then the label fits.
    await c.connection.sendRequest(P.RemoveAnnotationRequest.type, { textDocument: { uri }, id: 'T1' });
    await c.connection.sendRequest(P.RemoveAnnotationRequest.type, { textDocument: { uri }, id: 'T2' });
    await c.connection.sendRequest(P.AddAnnotationRequest.type, { textDocument: { uri }, range, type: 'Disease' });
    assert.match(fs.readFileSync(path.join(dir, 'notes.ann'), 'utf8'), /\tDisease 17 31\tnephrotoxicity\n$/);
    assert.ok(c.alive);
  } finally {
    assert.equal(await c.stop(), 0);
  }
});

test('a model change whose history cannot be saved still happens, and the user is warned (the request used to fail after the switch)', async () => {
  const dir = path.join(tmp, 'history');
  const c = await TestClient.start({ storageDir: path.join(dir, 'storage'), settings: { debounceMs: 0 } });
  try {
    assert.equal((await c.ready()).state, 'ready');
    const index = path.join(dir, 'storage', 'models', 'index.json');
    fs.rmSync(index, { force: true });
    fs.mkdirSync(path.join(index, 'in-the-way'), { recursive: true }); // renaming the new index over it fails
    const shipped = path.resolve(__dirname, '..', '..', 'models', 'default');
    const warned = c.next<{ type: number; message: string }>({ method: 'window/showMessage' });
    const used = await c.connection.sendRequest(P.UseModelRequest.type, { path: shipped });
    assert.equal(used.path, shipped);
    const warning = await warned;
    assert.equal(warning.type, 2);
    assert.match(warning.message, /^MetaBioNER: The model history could not be saved to index\.json \((EISDIR|ENOTEMPTY|EEXIST)\): the model is active now, but after a restart the server starts with the one saved before\.$/);
    assert.equal((await c.connection.sendRequest(P.StatusRequest.type)).state, 'ready');
  } finally {
    assert.equal(await c.stop(), 0);
  }
});

/** Starts the writer, waits until it writes, lets it run for `ms`, kills it with SIGKILL. */
function killWhileWriting(mode: 'labels' | 'model', target: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, mode, target], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) setTimeout(() => child.kill('SIGKILL'), ms);
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`the writer ended by itself (${code}): ${stderr}`))));
  });
}

/** Random kill points, recorded so that a failure can be reproduced (FAULT_SEED). */
function killPoints(n: number, maxMs: number): number[] {
  let seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const points: number[] = [];
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    points.push(Math.floor((seed / 2 ** 31) * maxMs));
  }
  return points;
}

test('labels: a writer killed with SIGKILL at random points leaves the .ann file old or new, never torn', async (t) => {
  const file = path.join(tmp, 'killed', 'notes.ann');
  fs.mkdirSync(path.dirname(file));
  const points = killPoints(12, 400);
  t.diagnostic(`kill points (ms after the first write): ${points.join(' ')}`);
  let torn = 0;
  let previous = 0;
  for (const ms of points) {
    await killWhileWriting('labels', file, ms);
    const content = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    const lines = content.split('\n');
    const whole = content === '' || (content.endsWith('\n') && lines.slice(0, -1).every((l, i) => new RegExp(`^T${i + 1}\\tThing \\d+ \\d+\\tword\\d+$`).test(l)));
    if (!whole) torn++;
    assert.ok(whole, `torn after a kill at ${ms} ms: …${content.slice(-200)}`);
    assert.ok(lines.length - 1 >= previous, 'labels written before the kill are all there');
    previous = lines.length - 1;
  }
  assert.equal(torn, 0);
  assert.ok(previous > 0, 'the writer wrote labels');
  t.diagnostic(`${points.length} kills, ${previous} labels written, files torn: ${torn}`);
});

test('models: a writer killed with SIGKILL while saving leaves a model directory that loads (old or new)', async (t) => {
  const dir = path.join(tmp, 'killed-model', 'model');
  const points = killPoints(6, 600);
  t.diagnostic(`kill points (ms after the first save): ${points.join(' ')}`);
  for (const ms of points) {
    await killWhileWriting('model', dir, ms);
    const model = loadModel(dir);
    assert.equal(model.types.length, 5);
    model.dispose();
    assert.deepEqual(strays(path.dirname(dir), 'model'), [], 'the dead writer\'s half-built copies are cleaned up on reading');
  }
});

test('a directory swap cut between its two renames (old set aside, new not yet in place) is put back on the next read', () => {
  const target = path.join(tmp, 'swap', 'checkpoint');
  writeDirAtomic(target, (d) => fs.writeFileSync(path.join(d, 'state.json'), '{"step":1}\n'));
  // The state a writer killed between the renames leaves, with the pid of a process that has ended.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  fs.renameSync(target, path.join(path.dirname(target), `.checkpoint.old-${dead}-0a1b2c3d`));
  fs.mkdirSync(path.join(path.dirname(target), `.checkpoint.tmp-${dead}-4e5f6a7b`));
  fs.writeFileSync(path.join(path.dirname(target), `.checkpoint.tmp-${dead}-4e5f6a7b`, 'state.json'), '{"st');
  assert.equal(fs.existsSync(target), false);
  assert.equal(recoverDir(target), true);
  assert.equal(fs.readFileSync(path.join(target, 'state.json'), 'utf8'), '{"step":1}\n');
  assert.deepEqual(strays(path.dirname(target), 'checkpoint'), []);
  // And the next write after such a crash replaces the restored version as usual.
  writeDirAtomic(target, (d) => fs.writeFileSync(path.join(d, 'state.json'), '{"step":2}\n'));
  assert.equal(fs.readFileSync(path.join(target, 'state.json'), 'utf8'), '{"step":2}\n');
});
