import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { CliOptions, CliResult, runCli } from '../helpers/run-cli';

const root = path.resolve(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-tag-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the built CLI (workers included) with the wasm backend. */
const cli = (args: string[], options: CliOptions = {}): CliResult => runCli(tmp, args, options);

interface Entity {
  start: number;
  end: number;
  type: string;
  text: string;
  confidence: number;
}

const abstract = fs.readFileSync(path.join(root, 'docs', 'sample-abstract.txt'), 'utf8');
const folder = path.join(tmp, 'folder');
fs.mkdirSync(folder);
// a long file (several batches of sentences, so that both workers share it), a short one, and files that are not .txt
fs.writeFileSync(path.join(folder, 'b-long.txt'), Array.from({ length: 12 }, (_, i) => `Part ${i}. ${abstract}`).join('\n'));
fs.writeFileSync(path.join(folder, 'a-short.txt'), 'Cisplatin caused nephrotoxicity in mice.\n');
fs.writeFileSync(path.join(folder, 'notes.md'), 'Aspirin.\n');
fs.mkdirSync(path.join(folder, 'sub.txt'));
const single = path.join(tmp, 'single.txt');
fs.writeFileSync(single, 'Doxorubicin induced cardiomyopathy in patients with breast cancer.\n');

/** What `tag FILE --format json` says for one file alone (today's single-file output). */
function alone(file: string): Entity[] {
  const r = cli(['tag', file, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { entities: Entity[] }).entities;
}

test('several files and a folder (its .txt files, sorted) on 2 workers: output in the order of the inputs, each record naming its file, entities as for each file alone', () => {
  const order = [single, path.join(folder, 'a-short.txt'), path.join(folder, 'b-long.txt'), '-'];
  const expected = new Map(order.slice(0, 3).map((f) => [f, alone(f)]));
  expected.set('-', expected.get(single)!);
  const input = fs.readFileSync(single, 'utf8');

  const json = cli(['tag', single, folder, '-', '--format', 'json', '--workers', '2'], { input });
  assert.equal(json.code, 0, json.stderr);
  const records = JSON.parse(json.stdout) as { file: string; entities: Entity[] }[];
  assert.deepEqual(records.map((r) => r.file), order);
  for (const r of records) assert.deepEqual(r.entities, expected.get(r.file), r.file);
  assert.ok(records[2].entities.length > 100);

  const tsv = cli(['tag', single, folder, '-', '--format', 'tsv', '--workers', '2'], { input });
  assert.equal(tsv.code, 0, tsv.stderr);
  const rows = tsv.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
  assert.deepEqual([...new Set(rows.map((r) => r[0]))], order);
  for (const f of order) {
    const mine = rows.filter((r) => r[0] === f);
    assert.deepEqual(mine.map((r) => [Number(r[1]), Number(r[2]), r[3], r[5]]), expected.get(f)!.map((e) => [e.start, e.end, e.type, e.text]), f);
  }

  const table = cli(['tag', folder, '--workers', '1']);
  assert.equal(table.code, 0, table.stderr);
  const headers = table.stdout.split('\n').filter((l) => / entities \(/.test(l));
  assert.deepEqual(headers.map((h) => h.split(': ')[0]), order.slice(1, 3));
  assert.match(headers[0], /: 3 entities \(.*; types .*Chemical/);
});

test('bad inputs among good ones: one line each on stderr, exit 2, the other files still tagged in order', () => {
  const binary = path.join(tmp, 'binary.txt');
  fs.writeFileSync(binary, Buffer.from([0x41, 0xff, 0xfe, 0x00, 0x42]));
  const missing = path.join(tmp, 'missing.txt');
  const empty = path.join(tmp, 'empty-folder');
  fs.mkdirSync(empty);
  const r = cli(['tag', single, binary, missing, empty, path.join(folder, 'a-short.txt'), '--format', 'tsv', '--workers', '2']);
  assert.equal(r.code, 2);
  const problems = r.stderr.split('\n').filter((l) => l.startsWith('metabioner: '));
  assert.equal(problems.length, 3, r.stderr);
  assert.match(problems[0], /binary\.txt is not UTF-8 text$/);
  assert.match(problems[1], /cannot read .*missing\.txt: ENOENT/);
  assert.match(problems[2], /empty-folder holds no \.txt file$/);
  assert.deepEqual([...new Set(r.stdout.trimEnd().split('\n').map((l) => l.split('\t')[0]))], [single, path.join(folder, 'a-short.txt')]);
  const w = cli(['tag', single, '--workers=-1']);
  assert.equal(w.code, 2);
  assert.match(w.stderr, /--workers must be a whole number ≥ 0/);
});

test('a tagging worker that dies ends the run with one line naming the cause, exit 1, after the files already printed', () => {
  const r = cli(['tag', single, folder, '--format', 'tsv', '--workers', '2'], { env: { METABIONER_FAULT: 'crash-tag-after:1' } });
  assert.equal(r.code, 1, r.stderr);
  const problems = r.stderr.split('\n').filter((l) => l.startsWith('metabioner: '));
  assert.equal(problems.length, 1, r.stderr);
  assert.match(problems[0], /^metabioner: tagging .* failed: tagging worker [12] of 2 crashed: injected fault \(METABIONER_FAULT\)$/);
});
