/**
 * The probes of issue 18 that broke the server through its LSP boundary, each kept as a regression test:
 * invalid parameters are answered with one `InvalidParams` line and change nothing on disk.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import {
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  ErrorCodes,
  HoverRequest,
  LSPErrorCodes,
  ResponseError,
  ShutdownRequest,
  ExitNotification,
} from 'vscode-languageserver-protocol';
import { MAX_MESSAGE } from '../../server/contract';
import * as P from '../../server/protocol';
import { sharedServer, TestClient } from './lsp-client';

const fixtures = path.resolve(__dirname, '..', 'fixtures', 'corpora');
const server = sharedServer('mb-boundary-', { debounceMs: 0, corporaRoot: fixtures });
const tmp = server.tmp;
const { request } = server;
const client = () => server.client;

const TEXT = 'Cisplatin causes nephrotoxicity in mice.\n';

/** Resolves with the error a request was answered with (fails if it was answered with a result). */
async function refusal(method: { method: string }, params: unknown, c: TestClient = client()): Promise<ResponseError<unknown>> {
  try {
    const r = await c.connection.sendRequest(method.method, params);
    assert.fail(`${method.method} answered ${JSON.stringify(r).slice(0, 200)} instead of an error`);
  } catch (err) {
    assert.ok(err instanceof ResponseError, String(err));
    assert.ok(!err.message.includes('\n') && err.message.length <= MAX_MESSAGE, `not one short line: ${err.message.slice(0, 400)}`);
    assert.doesNotMatch(err.message, /Cannot read|undefined is not|is not a function|TypeError/);
    return err;
  }
}

async function invalid(method: { method: string }, params: unknown, field: RegExp): Promise<void> {
  const err = await refusal(method, params);
  assert.equal(err.code, ErrorCodes.InvalidParams, `${err.code} ${err.message}`);
  assert.match(err.message, new RegExp(`^invalid ${method.method.replace(/\//g, '\\/')} parameters: `));
  assert.match(err.message, field);
}

function openText(name: string, text = TEXT): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  const { uri } = client().open(file, text);
  return uri;
}

test('annotations/add with a range position that is not a whole number is refused and writes no .ann (was "T55\\tChemical 0 NaN")', async () => {
  const uri = openText('nan.txt');
  await client().entitiesOf(uri, 1);
  const good = { start: { line: 0, character: 0 }, end: { line: 0, character: 9 } };
  for (const bad of [null, 'x', 1.5, -1, 1e308, {}, []]) {
    for (const side of ['start', 'end'] as const) {
      for (const field of ['line', 'character'] as const) {
        const range = { ...good, [side]: { ...good[side], [field]: bad } };
        await invalid(P.AddAnnotationRequest.type, { textDocument: { uri }, range, type: 'Chemical' }, new RegExp(`range\\.${side}\\.${field}`));
      }
    }
  }
  const { character: _, ...missing } = good.end;
  await invalid(P.AddAnnotationRequest.type, { textDocument: { uri }, range: { start: good.start, end: missing }, type: 'Chemical' }, /range\.end\.character/);
  await invalid(P.AddAnnotationRequest.type, { textDocument: { uri }, range: null, type: 'Chemical' }, /range/);
  assert.equal(fs.existsSync(path.join(tmp, 'nan.ann')), false);
  // The same request with whole numbers is written as a brat line.
  await request(P.AddAnnotationRequest.type, { textDocument: { uri }, range: good, type: 'Chemical' });
  assert.equal(fs.readFileSync(path.join(tmp, 'nan.ann'), 'utf8'), 'T1\tChemical 0 9\tCisplatin\n');
});

test('annotations/remove removes only T lines: relation and note ids are refused, and a label a relation or note refers to is kept', async () => {
  const ann = ['T1\tChemical 0 9\tCisplatin', 'T2\tDisease 17 31\tnephrotoxicity', 'T3\tSpecies 35 39\tmice', 'T10\tDisease 10 16\tcauses', 'R1\tCauses Arg1:T1 Arg2:T3', '#1\tAnnotatorNotes T3\tsee T2', ''].join('\n');
  fs.writeFileSync(path.join(tmp, 'rel.ann'), ann);
  const uri = openText('rel.txt');
  await client().entitiesOf(uri, 1);
  const textDocument = { uri };
  for (const id of ['R1', '#1', 'A1', '*', 'T1 ', '', 'line:x']) await invalid(P.RemoveAnnotationRequest.type, { textDocument, id }, /^[^:]+: id: must be the id of a label/);
  for (const [id, by] of [['T1', 'R1'], ['T3', 'R1, #1']]) {
    const err = await refusal(P.RemoveAnnotationRequest.type, { textDocument, id });
    assert.equal(err.code, LSPErrorCodes.RequestFailed);
    assert.equal(err.message, `${id} is referred to by ${by} in rel.ann (relations, events or notes): remove ${by.includes(',') ? 'those' : 'that'} first.`);
  }
  assert.equal(fs.readFileSync(path.join(tmp, 'rel.ann'), 'utf8'), ann);
  // T2 is only mentioned in the text of a note, T10 only looks like T1: both go, every other line stays.
  await request(P.RemoveAnnotationRequest.type, { textDocument, id: 'T2' });
  await request(P.RemoveAnnotationRequest.type, { textDocument, id: 'T10' });
  assert.equal(fs.readFileSync(path.join(tmp, 'rel.ann'), 'utf8'), ann.replace('T2\tDisease 17 31\tnephrotoxicity\n', '').replace('T10\tDisease 10 16\tcauses\n', ''));
});

test('numeric options are bounded: hardness and training jobs with -1, 1e308 or "x" are refused before any worker starts', async () => {
  const hardness = [
    [{ k: -1 }, /^[^:]+: k: /],
    [{ tasks: 1e6 }, /^[^:]+: tasks: /],
    [{ innerSteps: 1e308 }, /^[^:]+: innerSteps: /],
    [{ seed: 0.5 }, /^[^:]+: seed: /],
    [{ corpora: ['../../etc'] }, /corpora\.0: must be a corpus folder name/],
  ] as const;
  for (const [params, field] of hardness) await invalid(P.HardnessRequest.type, params, field);
  const base = { kind: 'supervised', corpora: ['NCBI-disease'] };
  for (const bad of [-1, 1e308, 'x', null, 0.5]) {
    await invalid(P.StartJobRequest.type, { ...base, epochs: bad }, /epochs/);
    await invalid(P.StartJobRequest.type, { kind: 'meta', method: 'maml', target: 'Disease', innerSteps: bad }, /innerSteps/);
  }
  await invalid(P.StartJobRequest.type, { ...base, lr: 0 }, /lr/);
  await invalid(P.StartJobRequest.type, { ...base, corpora: ['../NCBI-disease'] }, /corpora\.0: must be a corpus folder name/);
  await invalid(P.StartJobRequest.type, { kind: 'multitask', corpora: ['NCBI-disease', 'BC2GM'], slicingRate: 2 }, /slicingRate/);
  await invalid(P.StartJobRequest.type, { kind: 'nothing' }, /kind/);
  for (const target of ['__proto__', 'constructor', 'toString']) await invalid(P.StartJobRequest.type, { kind: 'meta', method: 'maml', target }, /target: must be a target domain/);
  for (const id of ['__proto__', 'constructor', '../x', '..', '.']) await invalid(P.StopJobRequest.type, { id }, /^[^:]+: id: /);
  assert.deepEqual(await request(P.ListJobsRequest.type, undefined), []);
  assert.deepEqual(fs.readdirSync(path.join(tmp, 'storage', 'jobs')), []);
});

test('__proto__ and constructor are refused as URIs and labels; null params and megabyte inputs get one short line', async () => {
  for (const uri of ['__proto__', 'constructor', '', 'no scheme']) {
    await invalid(P.EntitiesRequest.type, { textDocument: { uri } }, /textDocument\.uri/);
    await invalid(HoverRequest.type, { textDocument: { uri }, position: { line: 0, character: 0 } }, /textDocument\.uri/);
  }
  const uri = openText('labels.txt');
  const range = { start: { line: 0, character: 0 }, end: { line: 0, character: 9 } };
  const huge = 'x'.repeat(1 << 20);
  for (const type of ['constructor', '__proto__', 'toString', 'O', 'two words', 'A'.repeat(65), huge]) {
    await invalid(P.AddAnnotationRequest.type, { textDocument: { uri }, range, type }, /type: "[^"]{1,40}…?" is not a usable label: letters, digits/);
  }
  for (const method of [P.EntitiesRequest.type, P.AddAnnotationRequest.type, P.AdaptRequest.type, P.StartJobRequest.type, P.UseModelRequest.type, HoverRequest.type]) {
    await invalid(method, null, /./);
  }
  const err = await refusal(P.EntitiesRequest.type, { textDocument: { uri: `file:///${huge}` } });
  assert.ok(!err.message.includes('xxxxxxxxxx'.repeat(50)));
  // An unopened document of a sane URI is a request failure that names it.
  const closed = await refusal(P.EntitiesRequest.type, { textDocument: { uri: 'file:///nowhere.txt' } });
  assert.equal(closed.message, 'The document file:///nowhere.txt is not open in the editor.');
  assert.equal(fs.existsSync(path.join(tmp, 'labels.ann')), false);
});

test('corpus folders outside the workspace, the settings\' corpora and the storage are not listed or read', async () => {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-outside-'));
  try {
    fs.mkdirSync(path.join(outside, 'C'));
    for (const split of ['train', 'devel', 'test']) fs.writeFileSync(path.join(outside, 'C', `${split}.tsv`), 'a\tO\n');
    for (const root of [outside, '/', path.join(fixtures, '..', '..', '..')]) {
      const err = await refusal(P.CorporaRequest.type, { corporaRoot: root });
      assert.match(err.message, /is outside the workspace folders, the corpora folder of the settings and MetaBioNER's storage: it is not read\.$/);
      assert.match((await refusal(P.HardnessRequest.type, { corporaRoot: root, k: 1, tasks: 1, innerSteps: 1 })).message, /is outside the workspace folders/);
      assert.match((await refusal(P.StartJobRequest.type, { kind: 'supervised', corpora: ['C'], corporaRoot: root })).message, /is outside the workspace folders/);
    }
    // A symbolic link inside the corpora folder that leads out of it is followed and refused too.
    const link = path.join(tmp, 'storage', 'link-out');
    fs.symlinkSync(outside, link);
    assert.match((await refusal(P.CorporaRequest.type, { corporaRoot: link })).message, /is outside/);
    const inside = await request<P.CorporaParams, P.CorporaResult>(P.CorporaRequest.type, { corporaRoot: fixtures });
    assert.ok(inside.corpora.includes('NCBI-disease'));
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('malformed visibleRanges are ignored: a document of more than 100 sentences is still published, visible part first', async () => {
  const file = path.join(tmp, 'long.txt');
  const sentences = (word: string) => Array.from({ length: 150 }, (_, i) => `Sentence ${i} says that ${word} causes nephrotoxicity in mice.`).join(' ') + '\n';
  fs.writeFileSync(file, sentences('cisplatin'));
  const { uri, entities } = client().open(file);
  await entities;
  const textDocument = { uri };
  const one = { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } };
  for (const ranges of [Array(65).fill(one), null, 'x', [{ start: { line: 'a', character: 0 }, end: { line: 0, character: 0 } }], [{}]]) {
    await client().connection.sendNotification(P.VisibleRangesNotification.method, { textDocument, ranges });
  }
  await client().connection.sendNotification(P.VisibleRangesNotification.method, null);
  const partial = client().next<P.PublishEntitiesParams>(P.PublishEntitiesNotification.type, (p) => p.uri === uri && p.version === 2 && !p.complete);
  client().change(uri, sentences('aspirin'));
  const [first, complete] = await Promise.all([partial, client().entitiesOf(uri, 2)]);
  assert.ok(first.entities.length > 0 && complete.entities.length > first.entities.length);
  assert.ok(complete.entities.some((e) => e.type === 'Chemical'));
});

test('a document version that is not an int32 (1e308, -1, 1.5) is ignored, so later versions are still published', async () => {
  const uri = openText('versions.txt');
  await client().entitiesOf(uri, 1);
  for (const version of [1e308, -1, 1.5, null, '3']) {
    await client().connection.sendNotification(DidChangeTextDocumentNotification.method, { textDocument: { uri, version }, contentChanges: [{ text: 'Mice.\n' }] });
  }
  const version = client().change(uri, 'Aspirin causes ulcers in rats.\n');
  assert.equal(version, 2);
  const published = await client().entitiesOf(uri, 2);
  assert.equal(published.version, 2);
  const shown = await request<P.EntitiesParams, P.EntitiesResult>(P.EntitiesRequest.type, { textDocument: { uri } });
  assert.equal(shown.version, 2);
  assert.ok(shown.entities.some((e) => e.range.start.character === 0 && e.range.end.character === 'Aspirin'.length));
});

test('lifecycle: configuration change and requests before initialize neither crash nor hang; after shutdown nothing is served', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-lifecycle-'));
  const c = TestClient.spawn({ storageDir: path.join(dir, 'storage'), settings: { debounceMs: 0, corporaRoot: fixtures } });
  try {
    await c.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { metabioner: {} } });
    await c.connection.sendNotification(P.VisibleRangesNotification.method, { textDocument: { uri: 'file:///a.txt' }, ranges: [] });
    for (const [method, params] of [
      [P.StatusRequest.type, undefined],
      [P.EntitiesRequest.type, { textDocument: { uri: 'file:///a.txt' } }],
      [P.StartJobRequest.type, { kind: 'supervised', corpora: ['NCBI-disease'] }],
    ] as const) {
      const err = await refusal(method, params, c);
      assert.equal(err.code, ErrorCodes.ServerNotInitialized);
      assert.match(err.message, /the server is not initialized yet \(send initialize first\)$/);
    }
    assert.ok(c.alive, c.stderr);
    await c.initialize();
    assert.equal((await c.ready()).state, 'ready');
    const file = path.join(dir, 'doc.txt');
    fs.writeFileSync(file, TEXT);
    const { uri, entities } = c.open(file, TEXT);
    await entities;

    await c.connection.sendRequest(ShutdownRequest.type);
    const range = { start: { line: 0, character: 0 }, end: { line: 0, character: 9 } };
    for (const [method, params] of [
      [P.AddAnnotationRequest.type, { textDocument: { uri }, range, type: 'Chemical' }],
      [P.StartJobRequest.type, { kind: 'supervised', corpora: ['NCBI-disease'], epochs: 1 }],
      [P.EntitiesRequest.type, { textDocument: { uri } }],
    ] as const) {
      const err = await refusal(method, params, c);
      assert.equal(err.code, ErrorCodes.InvalidRequest);
      assert.match(err.message, /the server is shutting down and answers no more requests$/);
    }
    assert.equal(fs.existsSync(path.join(dir, 'doc.ann')), false);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'storage', 'jobs')), []);
    await c.connection.sendNotification(ExitNotification.type);
    assert.equal(await c.exited, 0);
    c.connection.dispose();
  } finally {
    if (c.alive) c.child.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a label across a line break is refused and the .ann stays as it was (its brat line would split in two)', async () => {
  const uri = openText('lines.txt', 'Cisplatin causes nephrotoxicity in mice.\nAspirin was given.\n');
  await client().entitiesOf(uri, 1);
  const range = { start: { line: 0, character: 35 }, end: { line: 1, character: 7 } };
  const err = await refusal(P.AddAnnotationRequest.type, { textDocument: { uri }, range, type: 'Chemical' });
  assert.equal(err.code, LSPErrorCodes.RequestFailed);
  assert.equal(err.message, 'A label cannot cross a line break (a brat .ann file keeps each label on one line): select words within one line.');
  assert.equal(fs.existsSync(path.join(tmp, 'lines.ann')), false);
});

test('a client that declares dynamic registration but refuses it does not take the server down (it exited on the rejection)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-register-'));
  // The test client answers client/registerCapability with MethodNotFound.
  const c = await TestClient.start({ storageDir: path.join(dir, 'storage'), settings: { debounceMs: 0 }, workspaceCapabilities: { didChangeConfiguration: { dynamicRegistration: true } } });
  try {
    assert.equal((await c.ready()).state, 'ready');
    const file = path.join(dir, 'doc.txt');
    fs.writeFileSync(file, TEXT);
    assert.ok((await c.open(file, TEXT).entities).entities.length > 0);
    assert.equal((await c.connection.sendRequest(P.StatusRequest.type)).state, 'ready');
    assert.ok(c.alive);
  } finally {
    assert.equal(await c.stop(), 0);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('corpus folders in the workspace folders are read, those the client reports later too; others are not', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-workspace-'));
  const corpus = (root: string) => {
    fs.mkdirSync(path.join(root, 'C'), { recursive: true });
    for (const split of ['train', 'devel', 'test']) fs.writeFileSync(path.join(root, 'C', `${split}.tsv`), 'Cisplatin\tB-Chemical\n');
    return root;
  };
  const first = corpus(path.join(dir, 'first'));
  const added = corpus(path.join(dir, 'added'));
  const c = TestClient.spawn({ storageDir: path.join(dir, 'storage'), settings: { debounceMs: 0 }, workspaceCapabilities: { workspaceFolders: true } });
  try {
    await c.initialize([first]);
    await c.ready();
    assert.deepEqual((await c.connection.sendRequest(P.CorporaRequest.type, { corporaRoot: first })).corpora, ['C']);
    assert.match((await refusal(P.CorporaRequest.type, { corporaRoot: added }, c)).message, /is outside the workspace folders/);
    c.workspaceFolders = [first, added]; // a folder added to the workspace
    assert.deepEqual((await c.connection.sendRequest(P.CorporaRequest.type, { corporaRoot: path.join(added, '.') })).corpora, ['C']);
  } finally {
    assert.equal(await c.stop(), 0);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
