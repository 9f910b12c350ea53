import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as P from '../../server/protocol';
import { POOL_THRESHOLD } from '../../server/tagging';
import { initBackend } from '../../training/engine/backend';
import { loadModel } from '../../training/model/model-io';
import { tagText } from '../../training/model/tag-text';
import { splitSentences } from '../../training/text/tokenizer';
import { sharedServer, TestClient } from './lsp-client';

const root = path.resolve(__dirname, '..', '..');
const modelDir = path.join(root, 'models', 'default');
const server = sharedServer('mb-pool-', { debounceMs: 5, minConfidence: 0, workers: 2 });
const client = () => server.client;

/** A text of more than POOL_THRESHOLD sentences, each different (the sentence cache does not shortcut it). */
function largeText(): string {
  const abstract = fs.readFileSync(path.join(root, 'docs', 'sample-abstract.txt'), 'utf8');
  const sentences = abstract.replace(/\n+/g, ' ').split(/(?<=\.) /);
  const lines: string[] = [];
  for (let i = 0; lines.length < POOL_THRESHOLD * 1.35; i++) lines.push(`Case ${i}: ${sentences[i % sentences.length]}`);
  const text = lines.join('\n') + '\n';
  assert.ok(splitSentences(text).length > POOL_THRESHOLD);
  return text;
}

/** Log lines the server sends (window/logMessage), from now on. */
function serverLog(c: TestClient): string[] {
  const lines: string[] = [];
  c.connection.onNotification('window/logMessage', (p: { message: string }) => lines.push(p.message));
  return lines;
}

test('a document above the threshold is tagged on worker threads, the visible part first, with the main thread\'s entities; a model change restarts the pool', async () => {
  const log = serverLog(client());
  const text = largeText();
  const file = path.join(server.tmp, 'large.txt');
  fs.writeFileSync(file, text);
  const uri = new URL(`file://${file}`).href;
  const partial = client().waitFor<P.PublishEntitiesParams>(P.PublishEntitiesNotification.type, (p) => p.uri === uri && !p.complete);
  await client().connection.sendNotification(P.VisibleRangesNotification.type.method, { textDocument: { uri }, ranges: [{ start: { line: 1500, character: 0 }, end: { line: 1530, character: 0 } }] });
  const opened = client().open(file);
  const first = await partial;
  for (const e of first.entities) assert.ok(e.range.start.line >= 1499 && e.range.end.line <= 1531, `line ${e.range.start.line}`);
  const full = await opened.entities;
  assert.ok(log.some((l) => /tagging large documents on 2 worker threads/.test(l)), log.join('\n'));

  await initBackend('wasm');
  const model = loadModel(modelDir);
  const expected = tagText(model, text);
  model.dispose();
  const key = (e: { start: P.Entity['range']['start']; end: P.Entity['range']['start']; type: string }) => `${e.start.line}:${e.start.character}-${e.end.line}:${e.end.character} ${e.type}`;
  const want = new Map(expected.map((e) => [key({ start: client().positionAt(uri, e.start), end: client().positionAt(uri, e.end), type: e.type }), e.confidence]));
  assert.equal(full.entities.length, want.size);
  for (const e of full.entities) {
    const confidence = want.get(key({ ...e.range, type: e.type }));
    assert.ok(confidence !== undefined && Math.abs(confidence - e.confidence) < 1e-5, key({ ...e.range, type: e.type }));
  }

  const starts = log.length;
  const again = client().next<P.PublishEntitiesParams>(P.PublishEntitiesNotification.type, (p) => p.uri === uri && p.complete);
  await server.request(P.UseModelRequest.type, { path: modelDir });
  assert.equal((await again).entities.length, full.entities.length);
  assert.ok(log.slice(starts).some((l) => /tagging large documents on 2 worker threads/.test(l)), log.join('\n'));
});

test('a tagging worker that dies: the server says why, tags on the main thread and stays up', async () => {
  const storageDir = path.join(server.tmp, 'faulty');
  const c = await TestClient.start({ storageDir, settings: { debounceMs: 5, minConfidence: 0, workers: 2 }, env: { METABIONER_FAULT: 'crash-tag-after:1' } });
  try {
    const log = serverLog(c);
    assert.equal((await c.ready()).state, 'ready');
    const file = path.join(server.tmp, 'large-faulty.txt');
    fs.writeFileSync(file, largeText());
    const { entities } = c.open(file);
    assert.ok((await entities).entities.length > 1000);
    assert.ok(log.some((l) => /tagging on worker threads failed \(tagging worker [12] of 2 crashed: injected fault \(METABIONER_FAULT\)\); tagging on the main thread/.test(l)), log.join('\n'));
    assert.equal((await c.connection.sendRequest<P.ServerStatus>(P.StatusRequest.type.method)).state, 'ready');
    assert.ok(c.alive);
  } finally {
    assert.equal(await c.stop(), 0);
  }
});
