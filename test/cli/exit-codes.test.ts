/**
 * The CLI's exit-code policy, command by command: an error the user can fix (a missing file or corpus, a
 * damaged file, a bad option) is one line "metabioner: …" without a stack trace and exit code 2; a bug of
 * MetaBioNER would print its stack trace and exit 1.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { CorpusFormatError } from '../../training/data/conll';
import { EmbeddingFormatError } from '../../training/embeddings/store';
import { UsageError } from '../../training/cli/command';
import { exitCodeOf, reportOf } from '../../training/cli/errors';
import { ModelFormatError } from '../../training/model/model-io';
import { cliIn, fixtureCorpora, repoRoot } from '../helpers/run-cli';

const fixtures = fixtureCorpora;
const shippedModel = path.join(repoRoot, 'models', 'default');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-exit-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Damaged files: word vectors of random bytes, a support "CoNLL" file that is prose, a model whose manifest lies.
const damagedVectors = path.join(tmp, 'damaged.bin');
fs.writeFileSync(damagedVectors, Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 97 + 13) % 256)));
const prose = path.join(tmp, 'support.conll');
fs.writeFileSync(prose, 'Cisplatin causes nephrotoxicity in mice.\n');
const lyingModel = path.join(tmp, 'lying-model');
fs.mkdirSync(lyingModel);
const manifest = JSON.parse(fs.readFileSync(path.join(shippedModel, 'manifest.json'), 'utf8')) as { weights: { name: string; shape: number[] }[] };
// The CRF's end scores, wherever the shipped model lists them (it may hold more weights, e.g. per-corpus conventions).
(manifest.weights.find((w) => w.name === 'dec.crf.end') as { shape: number[] }).shape = [38, 9, 28];
fs.writeFileSync(path.join(lyingModel, 'manifest.json'), JSON.stringify(manifest));
for (const f of ['weights.bin', 'embeddings.bin']) fs.copyFileSync(path.join(shippedModel, f), path.join(lyingModel, f));
// A corpus whose splits are not CoNLL (three columns).
const badRoot = path.join(tmp, 'corpora');
fs.mkdirSync(path.join(badRoot, 'Broken'), { recursive: true });
for (const split of ['train', 'devel', 'test']) fs.writeFileSync(path.join(badRoot, 'Broken', `${split}.tsv`), 'Cisplatin\tB-Chemical\textra\n');

const cli = cliIn(tmp, { cwd: tmp, env: { METABIONER_CORPORA: fixtures }, timeout: 120_000 });

/** Exit code 2 and one error line (after the backend line, before a usage text) matching `message`; no stack trace. */
function userError(args: string[], message: RegExp): void {
  const r = cli(...args);
  assert.equal(r.code, 2, `metabioner ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('metabioner: '));
  assert.equal(errors.length, 1, r.stderr);
  assert.match(errors[0], message);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
}

const CASES: Record<string, { missing: [string[], RegExp]; bad: [string[], RegExp]; option: [string[], RegExp] }> = {
  tag: {
    missing: [['tag', 'nowhere.txt'], /^metabioner: cannot read nowhere\.txt: ENOENT/],
    bad: [['tag', '--model', lyingModel, prose], /manifest\.json: weights\[\d+\]\.shape of dec\.crf\.end is \[38, 9, 28\], the model's shape implies \[11\]$/],
    option: [['tag', '--min-confidence', 'x', prose], /^metabioner: --min-confidence takes a number, not "x"$/],
  },
  train: {
    missing: [['train', '--corpus', 'Nope'], /^metabioner: no corpus "Nope" in .*corpora \(a corpus is a folder with train\.tsv, devel\.tsv and test\.tsv; there: BC2GM, /],
    bad: [['train', '--corpus', 'NCBI-disease', '--embeddings', damagedVectors], /^metabioner: .*damaged\.bin: not a MetaBioNER embeddings file \(bad magic bytes\)$/],
    option: [['train', '--corpus', 'NCBI-disease', '--epoch', '3'], /^metabioner: Unknown option '--epoch'/],
  },
  eval: {
    missing: [['eval', '--model', 'no-model', '--corpus', 'NCBI-disease'], /^metabioner: Cannot load model no-model: no such directory$/],
    bad: [['eval', '--model', shippedModel, '--corpus', 'Broken', '--corpora-root', badRoot], /^metabioner: .*Broken\/test\.tsv:1: expected 2 tab-separated fields \(token, tag\), found 3$/],
    option: [['eval', '--model', shippedModel, '--corpus', 'NCBI-disease', '--split', 'nope'], /^metabioner: --split must be one of train, devel, test$/],
  },
  embed: {
    missing: [['embed', '--corpora-root', 'no-corpora'], /^metabioner: the corpora folder no-corpora does not exist/],
    bad: [['embed', '--corpora-root', badRoot, '--out', path.join(tmp, 'v.bin')], /^metabioner: .*Broken\/(train|devel)\.tsv:1: expected 2 tab-separated fields \(token, tag\), found 3$/],
    option: [['embed', '--dim', 'x'], /^metabioner: --dim takes a whole number, not "x"$/],
  },
  'meta-train': {
    missing: [['meta-train', '--target', 'Disease', '--corpora-root', 'no-corpora'], /^metabioner: the corpora folder no-corpora does not exist/],
    bad: [['meta-train', '--target', 'Species', '--embeddings', damagedVectors, '--iterations', '1'], /^metabioner: .*damaged\.bin: not a MetaBioNER embeddings file \(bad magic bytes\)$/],
    option: [['meta-train', '--target', 'Plants'], /^metabioner: --target must be one of Disease, Drug\/Chemical, Gene, Species$/],
  },
  adapt: {
    missing: [['adapt', '--model', shippedModel, '--support', 'nowhere.conll', '--out', path.join(tmp, 'a')], /^metabioner: nowhere\.conll:0: cannot read: ENOENT$/],
    bad: [['adapt', '--model', shippedModel, '--support', prose, '--out', path.join(tmp, 'a')], /support\.conll:1: expected 2 tab-separated fields \(token, tag\), found 1$/],
    option: [['adapt', '--model', shippedModel, '--support', prose, '--out', path.join(tmp, 'a'), '--mode', 'sideways'], /^metabioner: --mode must be extend or replace$/],
  },
  'fewshot-eval': {
    missing: [['fewshot-eval', '--scratch', '--corpus', 'Nope'], /^metabioner: no corpus "Nope" in /],
    bad: [['fewshot-eval', '--model', lyingModel, '--corpus', 'S800', '--k', '1', '--samples', '1'], /manifest\.json: weights\[\d+\]\.shape of dec\.crf\.end/],
    option: [['fewshot-eval', '--scratch', '--corpus', 'S800', '--k', 'x'], /^metabioner: --k takes positive integers, e.g\. 5,10$/],
  },
  'mtl-train': {
    missing: [['mtl-train', '--corpus', 'NCBI-disease,../S800', '--sharing', 'heads'], /^metabioner: no corpus "\.\.\/S800" in /],
    bad: [['mtl-train', '--corpus', 'NCBI-disease,S800', '--sharing', 'heads', '--embeddings', damagedVectors], /damaged\.bin: not a MetaBioNER embeddings file \(bad magic bytes\)$/],
    option: [['mtl-train', '--corpus', 'NCBI-disease,S800', '--sharing', 'nope'], /^metabioner: --sharing must be one of heads, hierarchical, unified$/],
  },
};

for (const [command, cases] of Object.entries(CASES)) {
  test(`${command}: a missing file, a damaged file and a bad option are each one line and exit code 2`, () => {
    for (const [args, message] of [cases.missing, cases.bad, cases.option]) userError(args, message);
  });
}

test('every command of the CLI is covered above', () => {
  const help = cli('--help');
  assert.equal(help.code, 0);
  const commands = [...help.stdout.matchAll(/^ {2}(\S+) /gm)].map((m) => m[1]);
  assert.deepEqual(commands.sort(), Object.keys(CASES).sort());
});

test('the policy itself: the user\'s errors are exit 2 and one line, the engine\'s errors a bug with its stack trace and exit 1', () => {
  const enoent = Object.assign(new Error("ENOENT: no such file or directory, open 'x.txt'"), { code: 'ENOENT' });
  for (const err of [new UsageError('--k takes positive integers'), new ModelFormatError('m', 'manifest.json: shape.hidden: …'), new CorpusFormatError('c.tsv', 3, 'bad\nline'), new EmbeddingFormatError('v.bin', 'bad magic'), enoent]) {
    assert.equal(exitCodeOf(err), 2, String(err));
    assert.match(reportOf(err), /^metabioner: [^\n]+$/);
  }
  for (const err of [new TypeError("Cannot read properties of undefined (reading 'x')"), new RangeError('Invalid array length'), new Error('plain'), 'a string thrown']) {
    assert.equal(exitCodeOf(err), 1, String(err));
    if (err instanceof Error) assert.match(reportOf(err), /^metabioner: \w*Error: .*\n\s+at /);
  }
});
