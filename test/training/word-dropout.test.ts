import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { fixturesRoot, loadSplit } from '../../training/data/corpora';
import { initBackend } from '../../training/engine/backend';
import { Featurizer } from '../../training/model/features';
import { DEFAULT_SHAPE, initParams, TaggerShape } from '../../training/model/tagger';
import { CharVocab, TagSet } from '../../training/model/vocab';
import { identityView, shardGradients, withWordDropout } from '../../training/parallel/shard-step';
import { allowedMask } from '../../training/train/labels';
import { disposeGrads } from '../../training/train/step';
import { Rng } from '../../training/util/random';
import { HashedVectors } from '../helpers/hashed-vectors';

before(async () => {
  await initBackend('wasm');
});

const sentences = loadSplit(fixturesRoot(), 'NCBI-disease', 'train').slice(0, 40);
const items = sentences.map((sentence) => ({ sentence, annotatedTypes: ['Disease'], corpus: 'NCBI-disease' }));
const chars = CharVocab.build(sentences.flatMap((s) => s.tokens), 1);
const tagSet = new TagSet(['Disease']);
const featurizer = new Featurizer(new HashedVectors(16), chars, DEFAULT_SHAPE.maxWordChars);

test('word dropout zeroes about p of the real tokens’ vectors, leaves the others and the original batch as they were', () => {
  const batch = featurizer.batch(sentences.map((s) => s.tokens));
  const original = batch.words.slice();
  const dropped = withWordDropout(batch, 0.3, new Rng(5));
  assert.deepEqual(batch.words, original, 'the batch itself is not changed');
  const D = 16;
  let real = 0;
  let zeroed = 0;
  for (let pos = 0; pos < batch.B * batch.T; pos++) {
    const v = dropped.words.subarray(pos * D, (pos + 1) * D);
    if (batch.tokenMask[pos] === 0) {
      assert.ok(v.every((x) => x === 0), 'padding stays zero');
      continue;
    }
    real++;
    if (v.every((x) => x === 0)) zeroed++;
    else assert.deepEqual(v, original.subarray(pos * D, (pos + 1) * D));
  }
  assert.ok(real > 800, `${real} tokens`);
  assert.ok(Math.abs(zeroed / real - 0.3) < 0.05, `${zeroed} of ${real} zeroed`);
  assert.deepEqual(withWordDropout(batch, 0.3, new Rng(5)).words, dropped.words, 'the same seed drops the same tokens');
});

test('a shard with word dropout 1 has the loss of the same shard without word vectors; 0 changes nothing', () => {
  const shape: TaggerShape = { ...DEFAULT_SHAPE, hidden: 8, wordDim: 16, charVocabSize: chars.size, numTags: tagSet.size, numDomains: 0 };
  const params = initParams(shape, 3);
  const part = items.slice(0, 8);
  const batch = featurizer.batch(part.map((it) => it.sentence.tokens));
  const job = { batch, allowed: allowedMask(part, tagSet, batch), dropout: 0, seed: 11, view: identityView(params) };
  const loss = (j: typeof job & { wordDropout?: number }) => {
    const r = shardGradients(params, shape, j);
    disposeGrads(r.grads);
    return r.loss;
  };
  const blank = { ...job, batch: { ...batch, words: new Float32Array(batch.words.length) } };
  assert.equal(loss({ ...job, wordDropout: 1 - 1e-12 }), loss(blank));
  assert.equal(loss({ ...job, wordDropout: 0 }), loss(job));
  assert.notEqual(loss(job), loss(blank));
  for (const v of Object.values(params)) v.dispose();
});
