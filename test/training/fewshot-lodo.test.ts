import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { fixturesRoot, listCorpora, loadSplit } from '../../training/data/corpora';
import { EmbeddingTable } from '../../training/embeddings/store';
import { initBackend } from '../../training/engine/backend';
import { trainMtlInit } from '../../training/meta/lodo-init';
import { metaTrain } from '../../training/meta/meta-train';
import { DOMAINS, metaTrainingCorpora } from '../../training/meta/tasks';
import { loadModel, saveModel } from '../../training/model/model-io';

const shippedDir = path.join(__dirname, '..', '..', 'models', 'default');

before(async () => {
  await initBackend('wasm');
});

/** The corpus each `trainedOn` entry of a model directory's manifest names ("NCBI-disease/train" → NCBI-disease). */
function manifestCorpora(dir: string): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { info: { trainedOn: string[] } };
  return [...new Set(manifest.info.trainedOn.map((e) => e.split('/')[0]))].sort();
}

test('the mtl and mtl+metabioner initialisations never saw the target domain (from their manifests), and meta-training starts from the mtl encoder', async () => {
  const root = fixturesRoot();
  const words = EmbeddingTable.load(path.join(shippedDir, 'embeddings.bin'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lodo-'));
  try {
    for (const target of ['Species', 'Disease']) {
      const sources = metaTrainingCorpora(target, listCorpora(root));
      const mtl = await trainMtlInit(root, target, words, { maxTrainSentences: 20, epochs: 1, hidden: 8, patience: 1 }, { workers: 1 });
      const mtlDir = path.join(dir, `mtl-${target}`);
      saveModel(mtl, mtlDir);
      mtl.dispose();
      const seen = manifestCorpora(mtlDir);
      assert.deepEqual(seen, [...sources].sort());
      for (const c of DOMAINS[target]) assert.ok(!seen.includes(c), `the mtl initialisation for ${target} lists ${c}`);
      // It tags the sources' (unified) types and none of the target's.
      const init = loadModel(mtlDir);
      if (target === 'Species') assert.ok(!init.types.includes('Species'), `types ${init.types.join(', ')}`);

      const data = Object.fromEntries(sources.map((c) => [c, loadSplit(root, c, 'train')]));
      // Zero iterations: the meta-learner's encoder is the mtl one, weight for weight.
      const { model: start } = await metaTrain(data, init.words, { iterations: 0, k: 3 }, {}, { model: init });
      for (const [name, v] of Object.entries(init.params)) if (name.startsWith('enc.')) assert.deepEqual(start.params[name].dataSync(), v.dataSync(), name);
      assert.deepEqual(start.chars.chars, init.chars.chars);
      start.dispose();
      const { model: meta } = await metaTrain(data, init.words, { method: 'metabioner', iterations: 2, k: 3, tasksPerIteration: 2, innerSteps: 1 }, {}, { model: init });
      const metaDir = path.join(dir, `mtl+metabioner-${target}`);
      saveModel(meta, metaDir);
      meta.dispose();
      init.dispose();
      assert.deepEqual(manifestCorpora(metaDir), [...sources].sort());
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
