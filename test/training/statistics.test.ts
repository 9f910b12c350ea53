import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calibrationOf } from '../../training/eval/calibration';
import { bootstrapMean, pairedBootstrap } from '../../training/eval/bootstrap';
import { Rng } from '../../training/util/random';

test('the bootstrap interval of a known distribution covers its mean about as often as it says', () => {
  // Uniform [0, 1): mean 0.5. 200 draws of 30 values; a 95% interval should miss 0.5 in about 5% of them.
  const rng = new Rng(3);
  let covered = 0;
  for (let rep = 0; rep < 200; rep++) {
    const xs = Array.from({ length: 30 }, () => rng.next());
    const ci = bootstrapMean(xs, 2000, 0.95, rep);
    assert.ok(ci.low <= ci.mean && ci.mean <= ci.high);
    if (ci.low <= 0.5 && 0.5 <= ci.high) covered++;
  }
  assert.ok(covered >= 180 && covered <= 198, `covered ${covered} of 200`);
});

test('a paired bootstrap finds a consistent difference and not a noise one', () => {
  const rng = new Rng(9);
  const base = Array.from({ length: 20 }, () => rng.next());
  const better = base.map((x) => x + 0.02 + (rng.next() - 0.5) * 0.01);
  const same = base.map((x) => x + (rng.next() - 0.5) * 0.05);
  const real = pairedBootstrap(better, base);
  assert.ok(real.low > 0 && real.winRate > 0.99, JSON.stringify(real));
  const noise = pairedBootstrap(same, base);
  assert.ok(noise.low < 0 && noise.high > 0, JSON.stringify(noise));
  assert.throws(() => pairedBootstrap([1], [1, 2]), /equally long/);
});

test('calibration: confidences that match accuracy have ECE near 0, overconfident ones their gap', () => {
  const rng = new Rng(5);
  const calibrated = Array.from({ length: 20000 }, () => {
    const confidence = rng.next();
    return { confidence, correct: rng.next() < confidence };
  });
  assert.ok(calibrationOf(calibrated).ece < 0.02);
  // Always 0.9 sure, right half of the time: ECE 0.4.
  const over = Array.from({ length: 1000 }, (_, i) => ({ confidence: 0.9, correct: i % 2 === 0 }));
  assert.ok(Math.abs(calibrationOf(over).ece - 0.4) < 1e-9);
});
