import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { buildReport } from '../../bench/fewshot-report';
import { EXTEND, EXTEND_BASE, Invocation, MODES, PAPER, parseInvocation } from '../../bench/fewshot-settings';
import { ScoreStore, TimeBook } from '../../bench/fewshot-store';
import type { HardnessLine } from '../../training/meta/hardness-log';

test('bench:fewshot report: the JSON keeps the old format and adds paired intervals, extend figures, entity-weighted ECE and hardness', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fewshot-report-'));
  try {
    const inv: Invocation = { ...parseInvocation(['--mode', 'paper-lite', '--work-dir', dir, '--out', dir, '--ks', '5', '--samples', '3', '--methods', 'metabioner,scratch,mtl']), targets: ['Species'] };
    assert.equal(inv.settings.samples, 3);
    assert.equal(inv.settings.testLimit, MODES['paper-lite'].testLimit);
    const file = path.join(dir, 'scores.jsonl');
    const store = new ScoreStore(file);
    const corpora = ['LINNAEUS', 'S800'];
    // scratch 0.1 + 0.01·sample; metabioner 0.05 above it on every unit; mtl 0.02 below metabioner.
    for (const c of corpora)
      for (let i = 0; i < 3; i++) {
        const base = 0.1 + 0.01 * i + (c === 'S800' ? 0.1 : 0);
        store.add({ method: 'scratch', k: 5, corpus: c, sample: i, f1: base, ece: 0.5, entities: 10, seconds: 1 });
        store.add({ method: 'metabioner', k: 5, corpus: c, sample: i, f1: base + 0.05, ece: i === 0 ? 0 : 0.2, entities: i === 0 ? 0 : 30, seconds: 1 });
        store.add({ method: 'mtl', k: 5, corpus: c, sample: i, f1: base + 0.03, ece: 0.3, entities: 10, seconds: 1 });
        store.add({ method: EXTEND, k: 5, corpus: c, sample: i, f1: base + 0.04, ece: 0.1, entities: 10, retained: { 'NCBI-disease': { f1: 0.7, ece: 0.1, entities: 50 }, BC2GM: { f1: 0.5, ece: 0.3, entities: 50 } }, seconds: 2 });
      }
    store.add({ method: EXTEND_BASE, k: 0, corpus: 'NCBI-disease', sample: 0, f1: 0.72, ece: 0.1, entities: 50, seconds: 1 });
    store.add({ method: EXTEND_BASE, k: 0, corpus: 'BC2GM', sample: 0, f1: 0.5, ece: 0.1, entities: 50, seconds: 1 });
    fs.appendFileSync(file, '{"method":"scratch","k":5,"corp'); // a unit cut short by a kill
    // A hardness log in which γ follows the query entities.
    const lines: HardnessLine[] = Array.from({ length: 20 }, (_, it) => {
      const ents = [0, 2, 4, 9];
      const total = ents.reduce((a, e) => a + 1 + e, 0);
      return { iteration: it + 1, tasks: ents.map((e) => ({ corpus: 'BC2GM', domain: 'Gene', query: { sentences: 5, tokens: 100, entities: e, entityTokens: e }, labelLoss: 1 + e, criticLoss: 0, theta: (1 + e) / total, phi: (1 + e) / total })) };
    });
    fs.mkdirSync(path.join(dir, 'inits', 'hardness'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'inits', 'hardness', 'metabioner-Species-k5.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');

    const reread = new ScoreStore(file);
    assert.equal(reread.all().length, store.all().length);
    const r = buildReport(inv, reread, new TimeBook(path.join(dir, 'times.json')), [{ target: 'Species', corpora, sources: ['NCBI-disease', 'BC2GM'] }], 'test');
    const json = r.json as any;
    assert.equal(json.mode, 'paper-lite');
    assert.equal(json.settings.samples, 3);
    assert.equal(json.settings.testLimit, 1000);
    assert.equal(json.results.scratch[5].LINNAEUS, 0.11);
    assert.equal(json.results.scratch[5].S800, 0.21);
    assert.equal(json.results.scratch[5].overall, 0.16);
    assert.equal(json.results.metabioner[5].overall, 0.21);
    const d = json.comparisons['metabioner − scratch'][5];
    assert.equal(d.meanDifference, 0.05);
    assert.equal(d.pairs, 6);
    // A constant difference: the interval is that one point.
    assert.equal(d.low, 0.05);
    assert.equal(d.high, 0.05);
    assert.equal(json.comparisons['mtl − metabioner'][5].meanDifference, -0.02);
    assert.deepEqual(Object.keys(json.extend[5]).slice(0, 4), ['new_f1', 'replace_new_f1', 'old_mean_f1_before', 'old_mean_f1_after']);
    assert.equal(json.extend[5].new_f1, 0.2);
    assert.equal(json.extend[5].replace_new_f1, 0.19);
    assert.equal(json.extend[5].old_mean_f1_before, 0.61);
    assert.equal(json.extend[5].old_mean_f1_after, 0.6);
    // metabioner's samples 0 predicted nothing (ECE 0): weighted by entities they count for nothing, the others' 0.2 remains; extend old types after: (0.1 + 0.3) / 2.
    assert.equal(json.calibration.replace.metabioner[5], 0.2);
    assert.equal(json.calibration.extend[5].ece_old_after, 0.2);
    assert.equal(json.calibration.extend[5].ece_old_before, 0.1);
    const h = json.hardness['metabioner (K = 5)'];
    assert.ok(h.windows.every((w: { corrEntityTokens: number }) => w.corrEntityTokens > 0.99));
    assert.match(r.svg ?? '', /^<svg[^>]*>/);
    assert.match(r.md, /\*\*3 support samples per K\*\*.*\*\*a fixed random subset of 1000 test sentences per corpus\*\*/);
    assert.match(r.md, /\| metabioner − scratch \| \+5\.0 \[\+5\.0, \+5\.0\] \*\* \|/);
    assert.equal(PAPER.metaner[5].JNLPBA, 0.2175);
    assert.equal(PAPER.metabioner[5].overall, 0.3234);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
