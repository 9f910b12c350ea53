/**
 * The server over --stdio (the transport of clients other than VS Code): malformed frames are dropped and the
 * connection goes on (issue 18: `Content-Length: abc` used to end it), a frame split into single bytes is
 * reassembled, and the console output of the libraries never reaches the channel.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ExitNotification, InitializedNotification, InitializeRequest, ShutdownRequest } from 'vscode-languageserver-protocol';
import { createProtocolConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-languageserver-protocol/node';
import * as P from '../../server/protocol';

const root = path.resolve(__dirname, '..', '..');
const frame = (o: unknown): Buffer => {
  const body = Buffer.from(JSON.stringify(o));
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`), body]);
};

test('over --stdio, malformed frames are dropped with a log line and the connection keeps answering', { timeout: 60_000 }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-stdio-'));
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'server', 'main.ts'), '--stdio'], {
    cwd: root,
    env: { ...process.env, METABIONER_CACHE: path.join(tmp, 'cache') },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const connection = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  for (const method of ['window/logMessage', 'metabioner/status', 'textDocument/publishDiagnostics']) connection.onNotification(method, () => undefined);
  connection.listen();
  try {
    // Before initialize: a non-numeric length, a body that is not JSON (vscode-jsonrpc skips it), a length beyond the
    // limit; after it, a header that is no header and one more bad length.
    child.stdin.write('Content-Length: abc\r\n\r\n{}');
    child.stdin.write('Content-Length: 5\r\n\r\nabcde');
    child.stdin.write('Content-Length: 99999999999\r\n\r\n');
    const init = frame({ jsonrpc: '2.0', id: 'init', method: InitializeRequest.method, params: { processId: null, rootUri: null, capabilities: {}, initializationOptions: { storageDir: path.join(tmp, 'storage') } } });
    // The initialize request itself arrives one byte at a time.
    const answered = new Promise<unknown>((resolve) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes('"id":"init"')) {
          child.stdout.off('data', onData);
          resolve(out);
        }
      };
      child.stdout.on('data', onData);
    });
    for (const byte of init) child.stdin.write(Buffer.from([byte]));
    assert.match(String(await answered), /"serverInfo":\{"name":"MetaBioNER"\}/);
    await connection.sendNotification(InitializedNotification.type, {});
    child.stdin.write('hello\r\n\r\n');
    assert.ok(['loading', 'ready'].includes((await connection.sendRequest(P.StatusRequest.type)).state));
    child.stdin.write('Content-Length: 12x\r\n\r\n');
    assert.ok(['loading', 'ready'].includes((await connection.sendRequest(P.StatusRequest.type)).state));
    for (const why of ['Content-Length "abc" is not a number', 'Content-Length 99999999999 is above the', 'a malformed header line', 'Content-Length "12x" is not a number']) {
      assert.ok(stderr.includes(why), `${why} not in:\n${stderr}`);
    }
    await connection.sendRequest(ShutdownRequest.type);
    await connection.sendNotification(ExitNotification.type);
    assert.equal(await exited, 0);
  } finally {
    connection.dispose();
    if (child.exitCode === null) child.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
