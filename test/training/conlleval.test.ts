import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluate, formatReport } from '../../training/eval/conlleval';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} != ${b}`);

test('perfect and empty predictions', () => {
  const gold = [['B-A', 'I-A', 'O', 'B-B']];
  const r = evaluate(gold, gold);
  assert.equal(r.f1, 1);
  assert.equal(r.foundCorrect, 2);
  const none = evaluate(gold, [['O', 'O', 'O', 'O']]);
  assert.deepEqual([none.precision, none.recall, none.f1], [0, 0, 0]);
  close(none.tokenAccuracy, 0.25);
});

test('boundary off by one and a type mismatch count as wrong; multiple types', () => {
  // gold: A[0,2) B[3,4) A[5,6); guess: A[0,1) B[3,4) B[5,6) → 1 correct of 3 guessed, 3 gold.
  const gold = [['B-A', 'I-A', 'O', 'B-B', 'O', 'B-A']];
  const pred = [['B-A', 'O', 'O', 'B-B', 'O', 'B-B']];
  const r = evaluate(gold, pred);
  assert.deepEqual([r.correct, r.foundGuessed, r.foundCorrect], [1, 3, 3]);
  close(r.f1, 1 / 3);
  assert.deepEqual([r.perType.A.correct, r.perType.A.foundGuessed, r.perType.A.foundCorrect], [0, 1, 2]);
  assert.deepEqual([r.perType.B.correct, r.perType.B.foundGuessed, r.perType.B.foundCorrect], [1, 2, 1]);
  close(r.perType.B.precision, 0.5);
});

test('I- after O starts a chunk (conlleval), and strict IOB2 mode does not credit it', () => {
  const gold = [['O', 'B-A', 'I-A', 'O']];
  const pred = [['O', 'I-A', 'I-A', 'O']];
  assert.equal(evaluate(gold, pred).f1, 1);
  const strict = evaluate(gold, pred, { strictIob2: true });
  assert.deepEqual([strict.correct, strict.foundGuessed, strict.foundCorrect], [0, 0, 1]);
});

test('a type change inside a chunk splits it: B-A I-B is two chunks', () => {
  const r = evaluate([['B-A', 'I-A']], [['B-A', 'I-B']]);
  // guessed: A[0,1) and B[1,2); gold: A[0,2) → 0 correct, 2 guessed, 1 gold.
  assert.deepEqual([r.correct, r.foundGuessed, r.foundCorrect], [0, 2, 1]);
});

test('chunks end at sentence ends, and sentences never merge', () => {
  const gold = [['O', 'B-A'], ['I-A', 'O']];
  const pred = [['O', 'B-A'], ['B-A', 'O']];
  // Gold: A at the end of sentence 1, and an I-A chunk starting sentence 2 → 2 chunks; both guessed right.
  const r = evaluate(gold, pred);
  assert.deepEqual([r.correct, r.foundGuessed, r.foundCorrect], [2, 2, 2]);
});

test('the report has conlleval layout', () => {
  const r = evaluate([['B-A', 'O', 'B-B']], [['B-A', 'O', 'O']]);
  assert.equal(
    formatReport(r),
    [
      'processed 3 tokens with 2 phrases; found: 1 phrases; correct: 1.',
      'accuracy:  66.67%; precision: 100.00%; recall:  50.00%; FB1:  66.67',
      '                A: precision: 100.00%; recall: 100.00%; FB1: 100.00  1',
      '                B: precision:   0.00%; recall:   0.00%; FB1:   0.00  0',
    ].join('\n'),
  );
});
