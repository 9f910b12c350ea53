import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fixturesRoot, loadSplit } from '../../training/data/corpora';
import { initBackend } from '../../training/engine/backend';
import { embeddingText } from '../../training/embeddings/cache';
import { trainEmbeddings } from '../../training/embeddings/fasttext';
import { EmbeddingTable } from '../../training/embeddings/store';
import { loadModel, ModelFormatError } from '../../training/model/model-io';
import { MultiTaskCorpus, trainMultiTask, unifiedCorpora } from '../../training/multitask/mtl-train';
import { UNIFIED_TYPE_MAPS } from '../../training/multitask/type-map';
import { encode, labelLoss, Params } from '../../training/model/tagger';
import { allowedMask } from '../../training/train/labels';
import { disposeGrads, lossAndGrads, pick } from '../../training/train/step';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metabioner-conventions-'));
let words: EmbeddingTable;

before(async () => {
  await initBackend('wasm');
  words = EmbeddingTable.fromTrained(await trainEmbeddings(embeddingText(fixturesRoot()), { dim: 16, epochs: 1, buckets: 5000 }));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function fixture(name: string, n: number): MultiTaskCorpus {
  const train = loadSplit(fixturesRoot(), name, 'train').slice(0, n);
  const devel = loadSplit(fixturesRoot(), name, 'devel').slice(0, 20);
  const types = [...new Set(train.flatMap((s) => s.tags.filter((t) => t !== 'O').map((t) => t.slice(2))))];
  return { name, types, train, devel };
}

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

test('unified tagger with conventions: each corpus trains its own emission layer, saved beside the generic one and loadable by name', async () => {
  const corpora = unifiedCorpora([fixture('NCBI-disease', 40), fixture('BC5CDR-disease', 40)], UNIFIED_TYPE_MAPS);
  const options = { sharing: 'unified' as const, hidden: 8, epochs: 2, lr: 1e-2, seed: 5, conventions: 0.5 };
  const r = await trainMultiTask(corpora, words, { name: 'conventions', trainedOn: [] }, options);
  const names = Object.keys(r.model.params);
  for (const c of ['NCBI-disease', 'BC5CDR-disease']) for (const w of ['W', 'b']) assert.ok(names.includes(`dec.@${c}.out.${w}`), `${c} ${w}`);
  // Both conventions and the generic layer were trained (half the batches each way), so all three differ.
  const generic = values(r.model.params['dec.out.W']);
  const ncbi = values(r.model.params['dec.@NCBI-disease.out.W']);
  const bc5 = values(r.model.params['dec.@BC5CDR-disease.out.W']);
  assert.notDeepEqual(ncbi, generic);
  assert.notDeepEqual(bc5, generic);
  assert.notDeepEqual(ncbi, bc5);
  // The CRF stays shared.
  assert.equal(r.model.modelFor('NCBI-disease', true).params['dec.crf.trans'], r.model.params['dec.crf.trans']);

  const dir = path.join(tmp, 'model');
  r.model.save(dir);
  const sentences = corpora[0].devel.map((s) => s.tokens);
  const inMemory = r.model.modelFor('NCBI-disease', true).predict(sentences);
  const inMemoryGeneric = r.model.modelFor('NCBI-disease').predict(sentences);
  r.model.dispose();

  const tensors = tf.memory().numTensors;
  const loaded = loadModel(dir);
  assert.deepEqual(loaded.info.conventions, ['NCBI-disease', 'BC5CDR-disease']);
  assert.deepEqual(loaded.predict(sentences), inMemoryGeneric, 'without a convention: the generic tagger');
  // Gradients over every encoder and decoder weight (as task hardness takes them): the conventions' layers,
  // which the generic loss does not read, get none instead of breaking the step.
  const batch = loaded.featurizer.batch(sentences.slice(0, 4));
  const items = corpora[0].devel.slice(0, 4).map((sentence) => ({ sentence, annotatedTypes: corpora[0].types, corpus: corpora[0].name }));
  const { grads } = lossAndGrads(() => labelLoss(loaded.params as Params, encode(loaded.params as Params, loaded.shape, batch, { training: false, dropout: 0 }), batch, allowedMask(items, loaded.tagSet, batch)), pick(loaded.params, ['enc.', 'dec.']));
  assert.ok(grads['dec.out.W'] && grads['enc.lstm0.fwd.Wx']);
  assert.ok(!Object.keys(grads).some((n) => n.includes('@')), Object.keys(grads).join(', '));
  disposeGrads(grads);
  loaded.dispose();
  const ncbiModel = loadModel(dir, { convention: 'NCBI-disease' });
  assert.deepEqual(ncbiModel.predict(sentences), inMemory);
  assert.ok(!Object.keys(ncbiModel.params).some((n) => n.includes('@')), 'only the chosen emission layer, under the ordinary names');
  ncbiModel.dispose();
  assert.equal(tf.memory().numTensors, tensors, 'loading and disposing leaks nothing');
  assert.throws(() => loadModel(dir, { convention: 'S800' }), ModelFormatError);
});

test('conventions 0 is the generic tagger alone; --init-from weights start a run where they left off', async () => {
  const corpora = unifiedCorpora([fixture('NCBI-disease', 30), fixture('BC5CDR-chem', 30)], UNIFIED_TYPE_MAPS);
  const base = await trainMultiTask(corpora, words, { name: 'generic', trainedOn: [] }, { sharing: 'unified', hidden: 8, epochs: 1, lr: 1e-2, seed: 2 });
  assert.ok(!Object.keys(base.model.params).some((n) => n.includes('@')));
  await assert.rejects(trainMultiTask(corpora, words, { name: 'x', trainedOn: [] }, { sharing: 'heads', hidden: 8, epochs: 1, conventions: 0.5 }), /conventions need unified sharing/);
  // With a learning rate of 0 nothing moves: every weight is the start's, and each convention a copy of the generic layer.
  const start = { params: base.model.params, chars: base.model.chars };
  const continued = await trainMultiTask(corpora, words, { name: 'continued', trainedOn: [] }, { sharing: 'unified', hidden: 8, epochs: 1, lr: 0, seed: 7, conventions: 0.5 }, {}, start);
  for (const [n, v] of Object.entries(base.model.params)) assert.deepEqual(values(continued.model.params[n]), values(v), n);
  assert.deepEqual(values(continued.model.params['dec.@BC5CDR-chem.out.b']), values(base.model.params['dec.out.b']));
  base.model.dispose();
  continued.model.dispose();
});
