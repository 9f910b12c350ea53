import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixturesRoot, listCorpora, loadSplit } from '../../training/data/corpora';
import { bioesToIob2, iob2ToBioes, repairIob2, spansFromTags, tagsFromSpans } from '../../training/data/tagging-scheme';

test('IOB2 to BIOES and back on adjacent, single and multi-token entities', () => {
  const iob = ['B-A', 'B-A', 'I-A', 'I-A', 'O', 'B-B', 'B-A', 'I-A'];
  const bioes = iob2ToBioes(iob);
  assert.deepEqual(bioes, ['S-A', 'B-A', 'I-A', 'E-A', 'O', 'S-B', 'B-A', 'E-A']);
  assert.deepEqual(bioesToIob2(bioes), iob);
});

test('spans follow conlleval: I- after O or another type starts an entity; strict drops it', () => {
  assert.deepEqual(spansFromTags(['O', 'I-A', 'I-A', 'B-B', 'I-A']), [
    { type: 'A', start: 1, end: 3 },
    { type: 'B', start: 3, end: 4 },
    { type: 'A', start: 4, end: 5 },
  ]);
  assert.deepEqual(spansFromTags(['O', 'I-A', 'B-B', 'I-B'], { strict: true }), [{ type: 'B', start: 2, end: 4 }]);
  assert.deepEqual(repairIob2(['I-A', 'I-A', 'O', 'I-B']), ['B-A', 'I-A', 'O', 'B-B']);
});

test('every fixture sentence survives IOB2 → BIOES → IOB2 and spans → tags', () => {
  let n = 0;
  for (const c of listCorpora(fixturesRoot())) {
    for (const s of loadSplit(fixturesRoot(), c, 'train')) {
      assert.deepEqual(bioesToIob2(iob2ToBioes(s.tags)), s.tags);
      assert.deepEqual(tagsFromSpans(spansFromTags(s.tags), s.tags.length), s.tags);
      n++;
    }
  }
  assert.equal(n, 7 * 300);
});
