import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { CorpusFormatError, formatConll, parseConll, readConll } from '../../training/data/conll';
import { fixturesRoot, listCorpora, loadSplit } from '../../training/data/corpora';

function expectError(fn: () => unknown, line: number, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CorpusFormatError, `not a CorpusFormatError: ${String(err)}`);
    assert.equal(err.line, line);
    assert.match(err.message, /^f\.tsv:\d+: /);
    assert.match(err.message, pattern);
    return true;
  });
}

test('parses sentences with their first line and round-trips', () => {
  const text = 'Mutations\tO\nin\tO\nBRCA1\tB-Gene\n\nbreast\tB-Disease\ncancer\tI-Disease\n';
  const s = parseConll(text, 'f.tsv');
  assert.equal(s.length, 2);
  assert.deepEqual(s[1].tokens, ['breast', 'cancer']);
  assert.deepEqual(s[1].source, { file: 'f.tsv', line: 5 });
  assert.equal(formatConll(s), text);
});

test('tolerates CRLF, repeated blank lines and a missing final newline', () => {
  const s = parseConll('a\tO\r\nb\tB-X\r\n\r\n\r\nc\tO', 'f.tsv');
  assert.deepEqual(s.map((x) => x.tokens), [['a', 'b'], ['c']]);
});

test('malformed input names file and line', () => {
  expectError(() => parseConll('a\tO\nb O\n', 'f.tsv'), 2, /2 tab-separated fields.*found 1/);
  expectError(() => parseConll('a\tO\tX\n', 'f.tsv'), 1, /found 3/);
  expectError(() => parseConll('a\tO\n\nb\tB_X\n', 'f.tsv'), 3, /tag "B_X"/);
  expectError(() => parseConll('', 'f.tsv'), 1, /no sentences/);
  expectError(() => parseConll('a\tO\nb\tI-X\n', 'f.tsv', { strict: true }), 2, /I-X after O/);
  expectError(() => parseConll('a\tB-Y\nb\tI-X\n', 'f.tsv', { strict: true }), 2, /I-X after B-Y/);
  assert.equal(parseConll('a\tO\nb\tI-X\n', 'f.tsv').length, 1, 'lenient mode keeps I- after O');
});

test('invalid UTF-8 is reported with its line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-conll-'));
  const file = path.join(dir, 'bad.tsv');
  fs.writeFileSync(file, Buffer.concat([Buffer.from('a\tO\n\nb'), Buffer.from([0xff, 0xfe]), Buffer.from('\tO\n')]));
  assert.throws(() => readConll(file), (err: unknown) => err instanceof CorpusFormatError && err.line === 3 && /UTF-8/.test(err.message));
  fs.rmSync(dir, { recursive: true });
});

test('every committed fixture parses in strict mode', () => {
  const corpora = listCorpora(fixturesRoot());
  assert.equal(corpora.length, 7);
  for (const c of corpora) for (const split of ['train', 'devel', 'test'] as const) assert.ok(loadSplit(fixturesRoot(), c, split, { strict: true }).length >= 80);
});
