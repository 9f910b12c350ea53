import assert from 'node:assert/strict';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { fixturesRoot, loadSplit } from '../../training/data/corpora';
import { initBackend } from '../../training/engine/backend';
import { loadEvaluationSplit } from '../../training/train/training-data';
import { fewShotEval, testSubset } from '../../training/meta/fewshot-eval';
import { loadModel } from '../../training/model/model-io';
import { fewShotEvalOnWorkers } from '../../training/parallel/fewshot-pool';

const shippedDir = path.join(__dirname, '..', '..', 'models', 'default');

before(async () => {
  await initBackend('wasm');
});

test('meta-testing on 2 threads gives every sample the score it gets on one thread, in order', async () => {
  const test_ = loadEvaluationSplit(fixturesRoot(), 'S800', 'test');
  const target = { corpus: 'S800', train: loadSplit(fixturesRoot(), 'S800', 'train'), test: testSubset(test_.sentences, 25, 1), types: test_.types };
  const options = { ks: [2, 3], samples: 3, seed: 4, adapt: { epochs: 2 } };
  const init = loadModel(shippedDir);
  const serial = fewShotEval(init, target, options);
  init.dispose();
  const seen: string[] = [];
  const parallel = await fewShotEvalOnWorkers({ kind: 'model', dir: shippedDir }, target, options, 2, (r) => seen.push(`${r.k}/${r.sample}`));
  assert.deepEqual(parallel, serial);
  assert.equal(seen.length, 6);
  await assert.rejects(fewShotEvalOnWorkers({ kind: 'model', dir: path.join(shippedDir, 'missing') }, target, options, 2), /few-shot worker \d: could not start: Cannot load model/);
});
