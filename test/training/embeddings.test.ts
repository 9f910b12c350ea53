import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { trainEmbeddings } from '../../training/embeddings/fasttext';
import { EmbeddingTable } from '../../training/embeddings/store';
import { Rng } from '../../training/util/random';

/** Sentences drawn from three planted topics: words of one topic co-occur, words of different topics never do. */
function plantedCorpus(seed: number): { sentences: string[][]; topics: string[][] } {
  const topics = [
    ['cisplatin', 'carboplatin', 'oxaliplatin', 'dose', 'infusion', 'toxicity', 'renal', 'creatinine'],
    ['brca1', 'brca2', 'tp53', 'mutation', 'germline', 'allele', 'exon', 'splice'],
    ['mice', 'rats', 'murine', 'strain', 'knockout', 'litter', 'cage', 'rodent'],
  ];
  const rng = new Rng(seed);
  const sentences: string[][] = [];
  for (let i = 0; i < 3000; i++) {
    const topic = topics[rng.int(3)];
    sentences.push(Array.from({ length: 8 }, () => topic[rng.int(topic.length)]));
  }
  return { sentences, topics };
}

const cosine = (a: Float32Array, b: Float32Array) => {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
};

test('skip-gram vectors put co-occurring words together, OOV words near their n-gram relatives', async () => {
  const { sentences, topics } = plantedCorpus(1);
  const table = EmbeddingTable.fromTrained(await trainEmbeddings(sentences, { dim: 24, epochs: 3, buckets: 5000, minCount: 1, sample: 0 }));
  let within = 0;
  let across = 0;
  let nw = 0;
  let na = 0;
  for (let t = 0; t < 3; t++) {
    for (const a of topics[t]) {
      for (let u = 0; u < 3; u++) {
        for (const b of topics[u]) {
          if (a === b) continue;
          const c = cosine(table.vectorOf(a), table.vectorOf(b));
          if (t === u) (within += c), nw++;
          else (across += c), na++;
        }
      }
    }
  }
  assert.ok(within / nw > across / na + 0.2, `within ${within / nw} across ${across / na}`);
  // Case and digits are folded; an unseen inflection gets a vector from shared n-grams.
  assert.ok(cosine(table.vectorOf('Cisplatin'), table.vectorOf('cisplatin')) > 0.999);
  assert.ok(!table.has('carboplatins'));
  const oov = table.vectorOf('carboplatins');
  assert.ok(cosine(oov, table.vectorOf('carboplatin')) > cosine(oov, table.vectorOf('litter')));
});

test('training is deterministic per seed; save/load round-trips within quantisation error; damage is reported', async () => {
  const { sentences } = plantedCorpus(2);
  const opts = { dim: 16, epochs: 1, buckets: 2000, minCount: 1 };
  const a = await trainEmbeddings(sentences, opts);
  const b = await trainEmbeddings(sentences, opts);
  assert.deepEqual(a.wordVectors, b.wordVectors);
  const table = EmbeddingTable.fromTrained(a);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-emb-'));
  const file = path.join(dir, 'e.bin');
  table.save(file);
  const loaded = EmbeddingTable.load(file);
  for (const w of ['mice', 'brca1', 'unseenword']) {
    const x = table.vectorOf(w);
    const y = loaded.vectorOf(w);
    assert.deepEqual(y, x);
  }
  const trained = a.wordVectors.subarray(a.words.indexOf('mice') * 16, a.words.indexOf('mice') * 16 + 16);
  const restored = loaded.vectorOf('mice');
  const range = Math.max(...trained.map(Math.abs));
  for (let d = 0; d < 16; d++) assert.ok(Math.abs(trained[d] - restored[d]) <= range / 127);
  fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 200));
  assert.throws(() => EmbeddingTable.load(file), /e\.bin: .*(truncated|corrupt)/);
  fs.writeFileSync(file, 'hello');
  assert.throws(() => EmbeddingTable.load(file), /not a MetaBioNER embeddings file/);
  fs.rmSync(dir, { recursive: true });
});
