/**
 * Property-based fuzzing (fast-check) of what the server reads from files and editors: running text split into
 * sentences and tokens (the tokenizer), CoNLL rows, CoNLL corpora and brat standoff files, with any Unicode.
 * Readers never fail on the engine's terms (only with their own format error), and every offset they give
 * slices the original text to the token or label it names. The seed is printed; FUZZ_SEED replays.
 * FUZZ_RUNS sets the runs per property; FUZZ_REPORT=FILE appends {fuzz, seed, cases} as a JSON line.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { StandoffFile } from '../../server/annotations';
import { analyse } from '../../server/documents';
import { CorpusFormatError, parseConll } from '../../training/data/conll';

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-readers-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let cases = 0;

/** Any text: arbitrary code points (lone surrogates too), or word-like text with punctuation, astral letters and line breaks. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(fc.oneof(fc.constantFrom('Cisplatin', 'IL-2', 'p53', 'α-synuclein', '𝛼', '😀', 'e.g.', 'Dr.', '(', ')', '.', ',', ';', ' ', '  ', '\n', '\r\n', '\t', '\u00a0', '\u200b', 'ﬁ', 'é', 'é'), fc.string({ unit: 'grapheme', maxLength: 6 })), { maxLength: 60 }).map((parts) => parts.join('')),
);

test(`running text: sentence and token offsets always slice the original text, in order (seed ${seed})`, () => {
  fc.assert(
    fc.property(anyText, (text) => {
      cases++;
      const a = analyse(TextDocument.create('file:///fuzz.txt', 'plaintext', 1, text), 4);
      let last = 0;
      for (const s of a.sentences) {
        assert.ok(s.start >= last && s.start <= s.end && s.end <= text.length, `sentence ${s.start}-${s.end}`);
        for (const t of s.tokens) {
          assert.equal(text.slice(t.start, t.end), t.text);
          assert.ok(t.start >= last && t.start < t.end && t.start >= s.start && t.end <= s.end, `token ${t.start}-${t.end} in ${s.start}-${s.end}`);
          assert.ok(!/^\s+$/u.test(t.text), 'no white-space token');
          last = t.end;
        }
      }
    }),
    { seed, numRuns: RUNS },
  );
});

/** Lines of a CoNLL file: rows, garbage, blank lines, comments. */
const conllLine = fc.oneof(
  fc.tuple(fc.constantFrom('Cisplatin', 'p53', 'α', '😀', ''), fc.constantFrom('O', 'B-Chemical', 'I-Chemical', 'B-', 'X', 'I-Gene', '')).map(([t, g]) => `${t}\t${g}`),
  fc.string({ unit: 'binary', maxLength: 20 }).map((s) => s.replace(/\n/g, ' ')),
  fc.constantFrom('', ' ', '\r', 'a\tb\tc', '-DOCSTART-\tO', '\t', 'x y\tO'),
);

test(`CoNLL in the editor: every row kept has offsets that slice its token; malformed lines become problems, never errors (seed ${seed})`, () => {
  fc.assert(
    fc.property(fc.array(conllLine, { maxLength: 40 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
      cases++;
      const text = lines.join(eol);
      const a = analyse(TextDocument.create('file:///fuzz.conll', 'conll', 1, text), 4);
      if (a.refused) return;
      const lineCount = text.split('\n').length;
      for (const p of a.problems) assert.ok(p.line >= 0 && p.line < lineCount && !p.message.includes('\n'), p.message);
      for (const s of a.sentences) {
        assert.equal(s.tokens.length, s.tags!.length);
        for (const [i, t] of s.tokens.entries()) {
          assert.equal(text.slice(t.start, t.end), t.text);
          assert.match(s.tags![i], /^(O|[BI]-\S+)$/);
          assert.ok(s.lines![i] < lineCount);
        }
      }
    }),
    { seed, numRuns: RUNS },
  );
});

test(`CoNLL corpora: the reader returns sentences or throws its own CorpusFormatError, nothing else (seed ${seed})`, () => {
  fc.assert(
    fc.property(fc.array(conllLine, { maxLength: 40 }), (lines) => {
      cases++;
      try {
        const sentences = parseConll(lines.join('\n'), 'fuzz.tsv');
        for (const s of sentences) assert.equal(s.tokens.length, s.tags.length);
      } catch (err) {
        assert.ok(err instanceof CorpusFormatError, String(err));
        assert.match((err as Error).message, /^fuzz\.tsv:\d+: /);
      }
    }),
    { seed, numRuns: RUNS },
  );
});

test(`brat standoff: any .ann content is read without failing, and a label added anywhere reads back at the same offsets (seed ${seed})`, () => {
  const ann = path.join(tmp, 'doc.ann');
  const annLine = fc.oneof(
    fc.tuple(fc.nat(300), fc.nat(300), fc.string({ unit: 'binary', maxLength: 10 })).map(([s, e, t]) => `T${s}\tChemical ${s} ${e}\t${t.replace(/\n/g, '')}`),
    fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replace(/\n/g, '')),
    fc.constantFrom('R1\tRel Arg1:T1 Arg2:T2', '#1\tAnnotatorNotes T1\tnote', 'T1\tChemical 0 3;5 9\tdis joint', 'E1\tEvent:T1', 'T9\tX -1 4\tabc', 'T9\tX 99999999999999999999 1\tabc'),
  );
  fc.assert(
    fc.property(anyText.filter((t) => t.length > 0), fc.array(annLine, { maxLength: 12 }), fc.nat(), fc.nat(), (text, lines, i, j) => {
      cases++;
      fs.writeFileSync(ann, lines.join('\n'));
      const file = new StandoffFile(ann);
      const { entities, stale } = file.entities(text);
      for (const e of entities) assert.equal(text.slice(e.start, e.end), e.text);
      for (const e of stale) assert.ok(e.start >= 0 && e.start <= e.end && e.end <= text.length, `${e.start}-${e.end}`);
      // A label on whole code points (as the editor selects) reads back exactly, astral characters included.
      const points = [...text];
      const a = i % points.length;
      const b = a + 1 + (j % (points.length - a));
      const start = points.slice(0, a).join('').length;
      const end = start + points.slice(a, b).join('').length;
      if (/[\n\r]/.test(text.slice(start, end))) {
        // A label across a line break would split its brat line in two: refused, the file untouched.
        const before = fs.readFileSync(ann, 'utf8');
        assert.throws(() => file.add(text, 'New', start, end), /^Error: A label cannot cross a line break/);
        assert.equal(fs.readFileSync(ann, 'utf8'), before);
        return;
      }
      const id = file.add(text, 'New', start, end);
      const back = new StandoffFile(ann).entities(text).entities.find((e) => e.id === id);
      assert.deepEqual(back && [back.start, back.end, back.text], [start, end, text.slice(start, end)]);
      const kept = lines.join('\n').split('\n');
      if (kept.at(-1) === '') kept.pop();
      assert.deepEqual(fs.readFileSync(ann, 'utf8').split('\n').slice(0, kept.length), kept, 'lines it does not edit are kept');
    }),
    { seed, numRuns: RUNS },
  );
});

test('cases run', (t) => {
  t.diagnostic(`fast-check seed ${seed} (FUZZ_SEED=${seed} replays), ${cases} cases`);
  // For a report (docs/results/reliability.json): one JSON line per fuzz test.
  if (process.env.FUZZ_REPORT) fs.appendFileSync(process.env.FUZZ_REPORT, JSON.stringify({ fuzz: 'readers', seed, cases }) + '\n');
  assert.ok(cases >= 4 * RUNS);
});
