import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { fixturesRoot, listCorpora, loadSplit } from '../../training/data/corpora';
import { DEFAULT_EXTEND } from '../../training/meta/adapt';
import { fewShotEval, FewShotTarget, scoreOn, testSubset } from '../../training/meta/fewshot-eval';
import { detailedIteration, HardnessLine, hardnessLine, readHardnessLog, summarizeHardness } from '../../training/meta/hardness-log';
import { HardnessRecord, metaTrain } from '../../training/meta/meta-train';
import { metaTrainingCorpora } from '../../training/meta/tasks';
import { HashedVectors } from '../helpers/hashed-vectors';
import { asNewType, useShippedModel } from '../helpers/shipped-model';

const shippedModel = useShippedModel();


test('a unit list runs just those units, with the scores they get in the whole grid; extend units are scored on the retained corpora too', () => {
  const root = fixturesRoot();
  const target: FewShotTarget = { corpus: 'S800', train: loadSplit(root, 'S800', 'train').map(asNewType), test: testSubset(loadSplit(root, 'S800', 'test'), 20, 1).map(asNewType), types: ['Organism'] };
  const options = { ks: [2], samples: 2, seed: 3, adapt: { epochs: 2 } };
  const grid = fewShotEval(shippedModel(), target, options);
  assert.equal(grid.f1[2].length, 2);
  assert.equal(grid.ece[2].length, 2);
  for (const e of grid.ece[2]) assert.ok(e >= 0 && e <= 1);
  const seen: number[] = [];
  const one = fewShotEval(shippedModel(), target, { ...options, units: [{ k: 2, sample: 1 }] }, (r) => seen.push(r.sample));
  assert.deepEqual(seen, [1]);
  assert.deepEqual(one.f1[2], [grid.f1[2][1]]);

  const ncbi = testSubset(loadSplit(root, 'NCBI-disease', 'test'), 20, 1);
  const before_ = scoreOn(shippedModel(), ncbi, ['Disease']);
  const results: NonNullable<ReturnType<typeof scoreOn>>[] = [];
  fewShotEval(shippedModel(), { ...target, retained: [{ corpus: 'NCBI-disease', test: ncbi, types: ['Disease'] }] }, { ...options, samples: 1, adapt: { ...DEFAULT_EXTEND, epochs: 5 } }, (r) => {
    assert.ok(r.retained, 'an extend unit with retained corpora scores them');
    results.push(r.retained['NCBI-disease']);
  });
  assert.equal(results.length, 1);
  // Extend mode leaves the Disease weights alone: the old type is scored about as before.
  assert.ok(Math.abs(results[0].f1 - before_.f1) < 0.1, `Disease F1 ${before_.f1.toFixed(3)} → ${results[0].f1.toFixed(3)}`);
});

test('hardness log: compact lines (support sentences at detailed iterations), last line per iteration kept, γ summarized by window', async () => {
  assert.deepEqual([1, 5, 10, 11, 20, 30, 50, 100, 150, 200, 450, 500, 2000, 3000].map(detailedIteration), [true, true, true, false, true, false, true, true, false, true, false, true, true, true]);
  const sources = metaTrainingCorpora('Disease', listCorpora(fixturesRoot()));
  const corpora = Object.fromEntries(sources.map((c) => [c, loadSplit(fixturesRoot(), c, 'train')]));
  const records: HardnessRecord[] = [];
  await metaTrain(corpora, new HashedVectors(16), { method: 'metabioner', k: 3, iterations: 12, tasksPerIteration: 3, innerSteps: 1, hidden: 8 }, { onIteration: (r) => records.push(r) }).then((r) => r.model.dispose());
  for (const r of records) for (const t of r.tasks) assert.equal(t.query.sentences, 3);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hardness-')), 'log.jsonl');
  const lines = records.map((r) => hardnessLine(r));
  assert.ok(lines[0].tasks[0].support && !lines[10].tasks[0].support, 'support kept at iteration 1, not at 11');
  // A resumed run logs iterations 11–12 again (with other numbers); a kill leaves half a line.
  const again = { ...lines[10], tasks: lines[10].tasks.map((t) => ({ ...t, labelLoss: 123 })) };
  fs.writeFileSync(file, [...lines, again, lines[11]].map((l) => JSON.stringify(l)).join('\n') + '\n{"iteration": 13, "ta');
  const read = readHardnessLog(file);
  assert.deepEqual(read.map((l) => l.iteration), records.map((r) => r.iteration));
  assert.equal(read[10].tasks[0].labelLoss, 123);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  const s = summarizeHardness(read, 3);
  assert.equal(s.windows.length, 3);
  assert.deepEqual(s.examples.map((e) => e.iteration), [1, 10]);
  for (const e of s.examples) for (let i = 1; i < e.tasks.length; i++) assert.ok(e.tasks[i - 1].theta >= e.tasks[i].theta);

  // Synthetic logs: γ ∝ 1 + entity tokens gives a positive correlation and more weight to richer buckets; uniform γ none.
  const synthetic = (uniform: boolean): HardnessLine[] =>
    Array.from({ length: 40 }, (_, i) => {
      const ents = [0, 1, 4, 8].map((e) => (e + i) % 10);
      const raw = ents.map((e) => (uniform ? 1 : 1 + e));
      const total = raw.reduce((a, b) => a + b, 0);
      return { iteration: i + 1, tasks: ents.map((e, j) => ({ corpus: `c${j % 2}`, domain: 'd', query: { sentences: 5, tokens: 100, entities: e, entityTokens: 2 * e }, labelLoss: raw[j], criticLoss: 0, theta: raw[j] / total, phi: raw[j] / total })) };
    });
  const hard = summarizeHardness(synthetic(false), 2);
  for (const w of hard.windows) {
    assert.ok(w.corrEntityTokens > 0.9, `correlation ${w.corrEntityTokens}`);
    assert.ok(w.byBucket[0] < w.byBucket[3]);
    assert.ok(w.spread > 0.5);
  }
  const flat = summarizeHardness(synthetic(true), 2);
  for (const w of flat.windows) {
    assert.ok(Math.abs(w.spread) < 1e-12);
    for (const b of w.byBucket) assert.ok(Number.isNaN(b) || Math.abs(b - 1) < 1e-12);
  }
});
