import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fixturesRoot, listCorpora, loadSplit } from '../../training/data/corpora';
import { initBackend } from '../../training/engine/backend';
import { loadModel } from '../../training/model/model-io';
import type { NerModel } from '../../training/model/ner-model';
import { tagText } from '../../training/model/tag-text';
import { TagPool } from '../../training/parallel/tag-pool';

const root = path.resolve(__dirname, '..', '..');
const modelDir = path.join(root, 'models', 'default');
let model: NerModel;
/** The test sentences of every fixture corpus, plus an empty one and a long one (several batches of lengths). */
let sentences: string[][];

before(async () => {
  await initBackend((process.env.METABIONER_BACKEND as 'wasm') ?? 'wasm');
  model = loadModel(modelDir);
  sentences = listCorpora(fixturesRoot()).flatMap((c) => loadSplit(fixturesRoot(), c, 'test').map((s) => s.tokens));
  sentences.splice(7, 0, []);
});

after(() => model.dispose());

for (const workers of [1, 2]) {
  test(`a pool of ${workers} worker(s) predicts exactly what NerModel.predict does, in the same order, and leaks no tensor`, async () => {
    const expected = model.predict(sentences);
    const tensorsBefore = tf.memory().numTensors;
    const pool = await TagPool.start(modelDir, workers);
    try {
      assert.equal(pool.size, workers);
      const got = await pool.predict(sentences);
      assert.deepEqual(got, expected);
      // two calls at once share the workers; each gets its own sentences back, in its order
      const [a, b] = await Promise.all([pool.predict(sentences.slice(0, 100)), pool.predict(sentences.slice(100, 300).reverse())]);
      assert.deepEqual(a, model.predict(sentences.slice(0, 100)));
      assert.deepEqual(b, model.predict(sentences.slice(100, 300).reverse()));
      const text = fs.readFileSync(path.join(root, 'docs', 'sample-abstract.txt'), 'utf8');
      const texts = [text, '', 'Cisplatin caused nephrotoxicity.', text.slice(200)];
      assert.deepEqual(await pool.tagTexts(texts), texts.map((t) => tagText(model, t)));
      if (workers > 1) {
        const counts = await pool.tensorsInWorkers();
        await pool.predict(sentences.slice(0, 200));
        assert.deepEqual(await pool.tensorsInWorkers(), counts, 'tensors in the workers after 200 more sentences');
      }
    } finally {
      await pool.close();
    }
    assert.equal(tf.memory().numTensors, tensorsBefore, 'tensors in the main thread');
    await assert.rejects(pool.predict([['x']]), /the tagging pool was closed/);
  });
}

for (const fault of ['crash', 'exit'] as const) {
  test(`a worker that dies (${fault}) fails the pending calls with a one-line message naming the cause`, async () => {
    process.env.METABIONER_FAULT = `${fault}-tag-after:2`;
    let pool: TagPool;
    try {
      pool = await TagPool.start(modelDir, 2);
    } finally {
      delete process.env.METABIONER_FAULT;
    }
    try {
      const cause = fault === 'crash' ? /^tagging worker [12] of 2 crashed: injected fault \(METABIONER_FAULT\)$/ : /^tagging worker [12] of 2 exited unexpectedly \(code 3\)$/;
      await assert.rejects(pool.predict(sentences), (err: Error) => cause.test(err.message));
      assert.match(pool.failure!.message, cause);
      await assert.rejects(pool.predict([['x']]), (err: Error) => cause.test(err.message));
    } finally {
      await pool.close();
    }
  });
}

test('a model that cannot be loaded is refused before any worker starts', async () => {
  await assert.rejects(TagPool.start(path.join(root, 'nope'), 2), /Cannot load model .*nope: no such directory/);
});
