import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { DidChangeConfigurationNotification, HoverRequest, MarkupContent } from 'vscode-languageserver-protocol';
import * as P from '../../server/protocol';
import { sharedServer, shipped } from './lsp-client';

const root = path.resolve(__dirname, '..', '..');
const server = sharedServer('mb-docs-', { debounceMs: 5, minConfidence: 0 });
const tmp = server.tmp;
const ABSTRACT = fs.readFileSync(path.join(root, 'docs', 'sample-abstract.txt'), 'utf8');

const { request } = server;
const client = () => server.client;
const words = (uri: string, e: P.Entity) => {
  const lines = client().text(uri).split('\n');
  return lines[e.range.start.line].slice(e.range.start.character, e.range.end.character);
};

test('open a document: entities pushed with ranges, types and confidences; the entities request and hover agree', async () => {
  const status = await client().ready();
  assert.equal(status.backend, 'wasm');
  assert.deepEqual(status.model?.types, shipped.types);
  const file = path.join(tmp, 'abstract.txt');
  fs.writeFileSync(file, ABSTRACT);
  const { uri, entities } = client().open(file);
  const pushed = await entities;
  assert.equal(pushed.version, 1);
  assert.equal(pushed.model, shipped.info.name);
  assert.ok(pushed.entities.length >= 20);
  const cisplatin = pushed.entities.find((e) => words(uri, e) === 'Cisplatin');
  assert.equal(cisplatin?.type, 'Chemical');
  assert.equal(cisplatin?.source, 'prediction');
  assert.ok(pushed.entities.some((e) => e.type === 'Disease' && /breast cancer/.test(words(uri, e))));
  for (const e of pushed.entities) assert.ok(e.confidence > 0 && e.confidence <= 1);

  const requested = await request<P.EntitiesParams, P.EntitiesResult>(P.EntitiesRequest.type, { textDocument: { uri } });
  assert.deepEqual(requested.entities, pushed.entities);
  const firstLine = { start: { line: 0, character: 0 }, end: { line: 0, character: 40 } };
  const part = await request<P.EntitiesParams, P.EntitiesResult>(P.EntitiesRequest.type, { textDocument: { uri }, range: firstLine });
  assert.ok(part.entities.length > 0 && part.entities.length < pushed.entities.length);

  const hover = await client().connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: cisplatin!.range.start.line, character: cisplatin!.range.start.character + 3 } });
  assert.equal((hover?.contents as MarkupContent).value, `**Chemical** · predicted, confidence ${cisplatin!.confidence.toFixed(2)} · model ${shipped.info.name}`);
  assert.equal(await client().connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 0, character: 12 } }), null);
});

test('edits: entities follow, stale versions are never published after newer ones', async () => {
  const file = path.join(tmp, 'edit.txt');
  fs.writeFileSync(file, 'Cisplatin caused nephrotoxicity.\n');
  const { uri, entities } = client().open(file);
  assert.deepEqual((await entities).entities.map((e) => e.type), ['Chemical', 'Disease']);
  const v2 = client().change(uri, 'Cisplatin caused nephrotoxicity.\nDoxorubicin induced cardiomyopathy.\n');
  const v3 = client().change(uri, [{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, text: 'Aspirin and ' }]);
  assert.equal(v3, v2 + 1);
  const latest = await client().entitiesOf(uri, v3);
  assert.equal(latest.version, v3);
  assert.ok(latest.entities.some((e) => words(uri, e) === 'Aspirin'), JSON.stringify(latest.entities));
  const versions = client().received<P.PublishEntitiesParams>(P.PublishEntitiesNotification.type).filter((p) => p.uri === uri).map((p) => p.version);
  assert.deepEqual(versions, [...versions].sort((a, b) => a - b), `published versions ${versions}`);
});

test('a large document: the visible part is published first, then the whole', async () => {
  const sentences = ABSTRACT.replace(/\n+/g, ' ').split(/(?<=\.) /);
  const lines: string[] = [];
  for (let i = 0; lines.length < 400; i++) lines.push(`${i}. ${sentences[i % sentences.length]}`);
  const file = path.join(tmp, 'large.md');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const uri = new URL(`file://${file}`).href;
  const partial = client().waitFor<P.PublishEntitiesParams>(P.PublishEntitiesNotification.type, (p) => p.uri === uri && !p.complete);
  await client().connection.sendNotification(P.VisibleRangesNotification.type.method, { textDocument: { uri }, ranges: [{ start: { line: 200, character: 0 }, end: { line: 230, character: 0 } }] });
  const { entities } = client().open(file, undefined, 'markdown');
  const first = await partial;
  assert.ok(first.entities.length > 0);
  for (const e of first.entities) assert.ok(e.range.start.line >= 199 && e.range.end.line <= 231, `line ${e.range.start.line}`);
  const full = await entities;
  assert.ok(full.entities.length > first.entities.length * 5);
});

test('bad input: binary, 10 MB, invalid UTF-8 are each answered clearly, and the server stays up', async () => {
  const binary = path.join(tmp, 'image.txt');
  fs.writeFileSync(binary, Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 37) % 256)));
  const b = client().open(binary, fs.readFileSync(binary, 'latin1'));
  assert.deepEqual((await b.entities).entities, []);
  await assert.rejects(request(P.EntitiesRequest.type, { textDocument: { uri: b.uri } }), /This looks like a binary file/);
  assert.match((await client().diagnostics(b.uri)).diagnostics[0].message, /binary file/);

  const huge = path.join(tmp, 'huge.txt');
  const text = 'Cisplatin caused nephrotoxicity. '.repeat(Math.ceil((10 * 1024 * 1024) / 33));
  const h = client().open(huge, text);
  await assert.rejects(request(P.EntitiesRequest.type, { textDocument: { uri: h.uri } }), /This document has 10\.0 MiB of text; MetaBioNER tags documents of up to 4 MiB \(setting metabioner\.maxDocumentMiB\)/);
  client().close(h.uri);

  const latin1 = path.join(tmp, 'latin1.txt');
  fs.writeFileSync(latin1, Buffer.concat([Buffer.from('Cisplatin caused nephrotoxicity.\nCaf'), Buffer.from([0xe9]), Buffer.from(' and aspirin.\n')]));
  const decoded = new TextDecoder('utf-8', { fatal: false }).decode(fs.readFileSync(latin1)); // as an editor shows it
  const l = client().open(latin1, decoded);
  assert.ok((await l.entities).entities.some((e) => e.type === 'Chemical'));
  const warning = await client().diagnostics(l.uri);
  assert.equal(warning.diagnostics[0].range.start.line, 1);
  assert.match(warning.diagnostics[0].message, /not valid UTF-8/);
  await assert.rejects(
    request(P.AddAnnotationRequest.type, { textDocument: { uri: l.uri }, range: client().rangeOf(l.uri, 'aspirin'), type: 'Chemical' }),
    /Labels are not saved for this document: it is not valid UTF-8 \(first undecodable bytes on line 2\)/,
  );
  assert.ok(!fs.existsSync(path.join(tmp, 'latin1.ann')));

  await assert.rejects(request(P.EntitiesRequest.type, { textDocument: { uri: 'file:///nowhere/closed.txt' } }), /is not open in the editor/);
  assert.equal((await request<undefined, P.ServerStatus>(P.StatusRequest.type, undefined)).state, 'ready');
  assert.ok(client().alive);
});

test('a settings change is pulled again and the open documents are re-published with it', async () => {
  const file = path.join(tmp, 'settings.txt');
  fs.writeFileSync(file, 'Cisplatin caused nephrotoxicity in a patient with breast cancer.\n');
  const { uri, entities } = client().open(file);
  const before = (await entities).entities;
  const settings = client().options.settings!;
  const threshold = Math.max(...before.map((e) => e.confidence)) - 1e-9;
  settings.minConfidence = threshold;
  try {
    const next = client().next<P.PublishEntitiesParams>(P.PublishEntitiesNotification.type, (p) => p.uri === uri && p.complete);
    await client().connection.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
    const after = (await next).entities;
    assert.ok(after.length >= 1 && after.length < before.length, `${before.length} → ${after.length}`);
    for (const e of after) assert.ok(e.confidence >= threshold);
  } finally {
    settings.minConfidence = 0;
    await client().connection.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
  }
});
