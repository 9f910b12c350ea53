import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { cliIn, fixtureCorpora, repoRoot } from '../helpers/run-cli';

const root = repoRoot;
const fixtures = fixtureCorpora;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = cliIn(tmp);

test('help lists the commands and each command documents its options', () => {
  const r = cli('--help');
  assert.equal(r.code, 0);
  for (const c of ['tag', 'train', 'eval', 'embed']) assert.match(r.stdout, new RegExp(`\\n  ${c} `));
  const t = cli('train', '--help');
  assert.equal(t.code, 0);
  assert.match(t.stdout, /--corpus A\[,B\]/);
  assert.match(t.stdout, /--lr X .*AdamW/);
  assert.equal(cli('frobnicate').code, 2);
});

test('the shipped model tags the sample abstract with all four families: diseases, chemicals, genes and species, with offsets and confidences', () => {
  const r = cli('tag', 'docs/sample-abstract.txt', '--format', 'json');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /backend: wasm/);
  const text = fs.readFileSync(path.join(root, 'docs', 'sample-abstract.txt'), 'utf8');
  const { entities } = JSON.parse(r.stdout) as { entities: { start: number; end: number; type: string; text: string; confidence: number }[] };
  for (const e of entities) {
    assert.equal(text.slice(e.start, e.end), e.text);
    assert.ok(e.confidence > 0 && e.confidence <= 1);
  }
  const found = (type: string, words: string) => entities.some((e) => e.type === type && e.text.toLowerCase() === words);
  assert.ok(found('Chemical', 'cisplatin'), 'cisplatin as Chemical');
  assert.ok(found('Chemical', 'doxorubicin'), 'doxorubicin as Chemical');
  assert.ok(entities.some((e) => e.type === 'Disease' && /breast cancer/i.test(e.text)), 'breast cancer as Disease');
  assert.ok(found('Gene', 'brca1'), 'BRCA1 as Gene');
  // BC2GM annotates descriptors with the gene ("tumor suppressor p53"), and so does the model.
  assert.ok(entities.some((e) => e.type === 'Gene' && /\bTP53$/.test(e.text)), 'TP53 as Gene');
  assert.ok(found('Species', 'mice'), 'mice as Species');
  assert.ok(entities.some((e) => e.type === 'Species' && /aureus/.test(e.text)), 'S. aureus as Species');
});

test('bad input gets a clear message and exit code 2', () => {
  const binary = path.join(tmp, 'binary.txt');
  fs.writeFileSync(binary, Buffer.from([0x41, 0xff, 0xfe, 0x00, 0x42]));
  const b = cli('tag', binary);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /is not UTF-8 text/);
  const m = cli('tag', '--model', path.join(tmp, 'nope'), 'docs/sample-abstract.txt');
  assert.equal(m.code, 2);
  assert.match(m.stderr, /Cannot load model .*nope: no such directory/);
  const bad = path.join(tmp, 'bad-corpus');
  fs.mkdirSync(path.join(bad, 'X'), { recursive: true });
  for (const s of ['train', 'devel', 'test']) fs.writeFileSync(path.join(bad, 'X', `${s}.tsv`), 'a\tO\nb c\n');
  const e = cli('eval', '--corpus', 'X', '--corpora-root', bad);
  assert.equal(e.code, 2);
  assert.match(e.stderr, /test\.tsv:2: expected 2 tab-separated fields/);
  assert.equal(cli('tag').code, 2);
});

test('train → eval → tag on the committed corpus samples', () => {
  const out = path.join(tmp, 'model');
  const t = cli('train', '--corpus', 'S800', '--corpora-root', fixtures, '--epochs', '2', '--hidden', '16', '--out', out);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /S800 test: precision [\d.]+ recall [\d.]+ F1 [\d.]+/);
  assert.ok(fs.existsSync(path.join(out, 'manifest.json')));
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  assert.deepEqual(manifest.types, ['Species']);
  assert.match(manifest.info.command, /train --corpus S800/);
  const e = cli('eval', '--model', out, '--corpus', 'S800', '--corpora-root', fixtures, '--split', 'devel');
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /processed \d+ tokens with \d+ phrases; found: \d+ phrases; correct: \d+\./);
  assert.match(e.stdout, /calibration: ECE 0\.\d{4} over \d+ predicted entities/);
  const g = cli('tag', '--model', out, '--format', 'tsv', '-');
  assert.equal(g.code, 0, g.stderr);
});

test('meta-train (target held out) → adapt on a support file → score on the target corpus', () => {
  const meta = path.join(tmp, 'meta');
  const log = path.join(tmp, 'hardness.jsonl');
  const m = cli('meta-train', '--target', 'Species', '--corpora-root', fixtures, '--k', '3', '--iterations', '3', '--tasks', '2', '--inner-steps', '1', '--hidden', '8', '--out', meta, '--hardness-log', log);
  assert.equal(m.code, 0, m.stderr);
  assert.match(m.stdout, /finished 3 iterations on .*NCBI-disease/);
  assert.doesNotMatch(m.stdout, /LINNAEUS|S800/);
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { weights: { theta: number[] }; tasks: { corpus: string }[] });
  assert.equal(lines.length, 3);
  for (const l of lines) assert.ok(Math.abs(l.weights.theta.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  const supportFile = path.join(tmp, 'support.tsv');
  const s800 = fs.readFileSync(path.join(fixtures, 'S800', 'train.tsv'), 'utf8').split('\n\n').filter((b) => b.includes('B-Species')).slice(0, 5);
  fs.writeFileSync(supportFile, s800.join('\n\n') + '\n');
  const a = cli('adapt', '--model', meta, '--support', supportFile, '--mode', 'replace', '--epochs', '5', '--out', path.join(tmp, 'adapted'), '--eval-corpus', 'S800', '--corpora-root', fixtures);
  assert.equal(a.code, 0, a.stderr);
  assert.match(a.stdout, /adapted \(replace\) on 5 sentences: types Species;/);
  assert.match(a.stdout, /S800 test: precision [\d.]+ recall [\d.]+ F1 [\d.]+/);
  // The default keeps what the model knew: the meta-trained generic type stays beside the new one.
  const e = cli('adapt', '--model', meta, '--support', supportFile, '--epochs', '2', '--out', path.join(tmp, 'extended'));
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /adapted \(extend\) on 5 sentences: types Entity, Species;/);
  assert.match(cli('adapt', '--model', meta, '--support', supportFile, '--mode', 'merge', '--out', path.join(tmp, 'x')).stderr, /--mode must be extend or replace/);
  for (const init of [['--model', meta], ['--scratch', '--hidden', '8']]) {
    const json = path.join(tmp, `fewshot-${init[0]}.json`);
    const f = cli('fewshot-eval', ...init, '--corpus', 'S800', '--corpora-root', fixtures, '--k', '2,3', '--samples', '2', '--epochs', '2', '--test-limit', '20', '--json', json);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, /S800 K=2: mean F1 [\d.]+ over 2 samples\nS800 K=3: mean F1/);
    const scores = JSON.parse(fs.readFileSync(json, 'utf8')) as { f1: Record<string, number[]> };
    assert.equal(scores.f1['3'].length, 2);
  }
  const bad = cli('meta-train', '--target', 'Virus');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--target must be one of Disease/);
});

test('mtl-train: hierarchical sharing with fine-tuning writes one model per corpus; unified writes one model over all types', () => {
  const out = path.join(tmp, 'mtl');
  const h = cli('mtl-train', '--corpus', 'NCBI-disease,S800', '--corpora-root', fixtures, '--sharing', 'hierarchical', '--layers', '2', '--slicing-rate', '0.5', '--epochs', '1', '--hidden', '8', '--fine-tune', '--fine-tune-epochs', '1', '--max-train-sentences', '40', '--out', out);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /NCBI-disease test: P [\d.]+ R [\d.]+ F1 [\d.]+; fine-tuned F1 [\d.]+/);
  for (const dir of ['NCBI-disease', 'S800', 'S800+fine-tuned']) assert.ok(fs.existsSync(path.join(out, dir, 'manifest.json')), dir);
  const layout = JSON.parse(fs.readFileSync(path.join(out, 'multitask.json'), 'utf8')).layout;
  assert.deepEqual([layout.layers, layout.sharedLayers], [2, 1]);
  const unified = path.join(tmp, 'unified');
  const u = cli('mtl-train', '--corpus', 'NCBI-disease,JNLPBA', '--corpora-root', fixtures, '--sharing', 'unified', '--epochs', '1', '--hidden', '8', '--max-train-sentences', '40', '--out', unified);
  assert.equal(u.code, 0, u.stderr);
  assert.match(u.stdout, /JNLPBA test: P [\d.]+ R [\d.]+ F1 [\d.]+ \(merged [\d.]+\)/);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(unified, 'manifest.json'), 'utf8')).types.sort(), ['Cell', 'Disease', 'Gene']);
  const bad = cli('mtl-train', '--corpus', 'S800', '--corpora-root', fixtures, '--sharing', 'everything');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--sharing must be one of heads, hierarchical, unified/);
});
