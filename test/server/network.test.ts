/**
 * The server talks to its client over IPC only: no TCP, UDP or raw socket is ever open in its process (its
 * worker threads included), idle, tagging or running a worker. Linux: sockets found through /proc.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as P from '../../server/protocol';
import { TestClient } from './lsp-client';

const fixtures = path.resolve(__dirname, '..', 'fixtures', 'corpora');

/** Inodes of the process' open sockets, and those of them that are network sockets (in /proc/net/*). */
function sockets(pid: number): { all: string[]; network: string[] } {
  const all = fs
    .readdirSync(`/proc/${pid}/fd`)
    .map((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .flatMap((l) => /^socket:\[(\d+)\]$/.exec(l)?.[1] ?? []);
  const inet = new Set<string>();
  for (const table of ['tcp', 'tcp6', 'udp', 'udp6', 'raw', 'raw6', 'udplite', 'udplite6']) {
    let rows: string[];
    try {
      rows = fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8').trim().split('\n').slice(1);
    } catch {
      continue;
    }
    for (const row of rows) inet.add(row.trim().split(/\s+/)[9]);
  }
  return { all, network: all.filter((i) => inet.has(i)) };
}

test('the server opens no network socket: idle, tagging, and while a worker computes task hardness', { skip: process.platform !== 'linux' }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-net-'));
  const c = await TestClient.start({ storageDir: path.join(tmp, 'storage'), settings: { debounceMs: 0, corporaRoot: fixtures } });
  try {
    assert.equal((await c.ready()).state, 'ready');
    const pid = c.child.pid!;
    const seen = sockets(pid);
    assert.ok(seen.all.length > 0, 'the IPC channel is a (Unix) socket');
    assert.deepEqual(seen.network, []);
    const file = path.join(tmp, 'doc.txt');
    fs.writeFileSync(file, 'Cisplatin causes nephrotoxicity in mice.\n');
    await c.open(file).entities;
    assert.deepEqual(sockets(pid).network, []);
    let done = false;
    const hardness = c.connection.sendRequest(P.HardnessRequest.type, { corpora: ['S800'], k: 1, tasks: 1, innerSteps: 1, seed: 1 }).finally(() => (done = true));
    let samples = 0;
    while (!done) {
      assert.deepEqual(sockets(pid).network, [], 'no network socket while the worker runs');
      samples++;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.equal((await hardness).tasks.length, 1);
    assert.ok(samples > 0);
  } finally {
    assert.equal(await c.stop(), 0);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
