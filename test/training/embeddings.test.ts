import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { embeddingText, ensureEmbeddings } from '../../training/embeddings/cache';
import { trainEmbeddings, TrainedEmbeddings } from '../../training/embeddings/fasttext';
import { EmbeddingTable } from '../../training/embeddings/store';
import { ngramBuckets, normalizeWord } from '../../training/embeddings/subwords';
import { Rng } from '../../training/util/random';

const TOPICS = [
  ['cisplatin', 'carboplatin', 'oxaliplatin', 'dose', 'infusion', 'toxicity', 'renal', 'creatinine', 'nausea', 'regimen'],
  ['brca1', 'brca2', 'tp53', 'mutation', 'germline', 'allele', 'exon', 'splice', 'variant', 'haplotype'],
  ['mice', 'rats', 'murine', 'strain', 'knockout', 'litter', 'cage', 'rodent', 'weaning', 'housing'],
];

/** Sentences drawn from three planted topics: words of one topic co-occur, words of different topics never do. */
function plantedCorpus(seed: number, n = 3000): string[][] {
  const rng = new Rng(seed);
  const sentences: string[][] = [];
  for (let i = 0; i < n; i++) {
    const topic = TOPICS[rng.int(TOPICS.length)];
    sentences.push(Array.from({ length: 8 }, () => topic[rng.int(topic.length)]));
  }
  return sentences;
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

const topicOf = (w: string) => TOPICS.findIndex((t) => t.includes(w));

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mb-emb-'));
}

let planted: Promise<TrainedEmbeddings> | undefined;
/** One training run on the planted corpus, shared by the tests that only read it. */
function plantedVectors(): Promise<TrainedEmbeddings> {
  planted ??= trainEmbeddings(plantedCorpus(1), { dim: 32, epochs: 3, buckets: 5000, minCount: 1, sample: 0 });
  return planted;
}

test('skip-gram puts co-occurring words together: same-topic pairs are nearer than cross-topic ones', async () => {
  const table = EmbeddingTable.fromTrained(await plantedVectors());
  let within = 0;
  let across = 0;
  let nw = 0;
  let na = 0;
  for (const a of TOPICS.flat()) {
    for (const b of TOPICS.flat()) {
      if (a === b) continue;
      const c = cosine(table.vectorOf(a), table.vectorOf(b));
      if (topicOf(a) === topicOf(b)) (within += c), nw++;
      else (across += c), na++;
    }
  }
  assert.ok(within / nw > across / na + 0.3, `mean cosine within topics ${within / nw}, across ${across / na}`);
  // Nearest neighbours: at least 90% of every word's 5 nearest share its topic.
  let same = 0;
  for (const w of TOPICS.flat()) {
    const nn = table.nearest(w, 5);
    assert.equal(nn.length, 5);
    assert.ok(!nn.some((n) => n.word === w), 'a word is not its own neighbour');
    for (let i = 1; i < nn.length; i++) assert.ok(nn[i - 1].similarity >= nn[i].similarity, 'neighbours come in order');
    same += nn.filter((n) => topicOf(n.word) === topicOf(w)).length;
  }
  assert.ok(same >= 0.9 * 5 * TOPICS.flat().length, `${same} of ${5 * TOPICS.flat().length} neighbours share the topic`);
});

test('unknown words get vectors from their n-grams; case and digits are folded; no known n-gram gives zeros', async () => {
  const trained = await plantedVectors();
  const table = EmbeddingTable.fromTrained(trained);
  assert.ok(!table.has('carboplatins'));
  const oov = table.vectorOf('carboplatins');
  const others = TOPICS.flat().filter((w) => topicOf(w) !== 0);
  const toRelative = cosine(oov, table.vectorOf('carboplatin'));
  for (const w of others) assert.ok(toRelative > cosine(oov, table.vectorOf(w)) + 0.2, `carboplatins: carboplatin ${toRelative}, ${w} ${cosine(oov, table.vectorOf(w))}`);
  assert.equal(table.nearest('carboplatins', 1)[0].word, 'carboplatin');

  assert.equal(normalizeWord('IL-12 Brca1'), 'il-00 brca0');
  assert.deepEqual(table.vectorOf('Cisplatin'), table.vectorOf('cisplatin'));
  assert.deepEqual(table.vectorOf('BRCA2'), table.vectorOf('brca7'), 'digits are folded to 0 in lookups as in training');
  assert.ok(table.has('BRCA1'));

  // 'x' is shorter than any n-gram; the other word's n-grams all fall in buckets no vocabulary word trained.
  const { minN, maxN, buckets } = trained.options;
  const unknown = ['ωψξ', 'ζζζ', 'ξωζψ', 'ψψωξ'].find((w) => ngramBuckets(w, minN, maxN, buckets).every((b) => trained.bucketWords[b] === 0));
  assert.ok(unknown);
  for (const w of ['x', unknown]) {
    const none = table.vectorOf(w);
    assert.equal(none.length, 32);
    assert.ok(none.every((x) => x === 0), w);
    assert.deepEqual(table.nearest(w, 3), []);
  }
  // Vocabulary words keep their training counts, most frequent first.
  assert.equal(table.vocab.length, 29, 'brca1 and brca2 are one word, brca0');
  assert.equal(table.vocab.reduce((n, e) => n + e.count, 0), 3000 * 8);
  for (let i = 1; i < table.vocab.length; i++) assert.ok(table.vocab[i - 1].count >= table.vocab[i].count);
});

test('training is deterministic per seed and reports progress', async () => {
  const sentences = plantedCorpus(2, 600);
  const opts = { dim: 16, epochs: 2, buckets: 2000, minCount: 1 };
  const a = await trainEmbeddings(sentences, opts);
  const b = await trainEmbeddings(sentences, opts);
  assert.deepEqual(a.wordVectors, b.wordVectors);
  assert.deepEqual(a.bucketVectors, b.bucketVectors);
  const c = await trainEmbeddings(sentences, { ...opts, seed: 2 });
  assert.notDeepEqual(c.wordVectors, a.wordVectors);
  const fractions: number[] = [];
  await trainEmbeddings(sentences, opts, (f, wps) => {
    assert.ok(wps > 0);
    fractions.push(f);
  });
  assert.equal(fractions.at(-1), 1);
  for (let i = 1; i < fractions.length; i++) assert.ok(fractions[i] >= fractions[i - 1]);
  await assert.rejects(trainEmbeddings([['once']], { minCount: 2 }), /no word occurs 2 times/);
  await assert.rejects(trainEmbeddings(sentences, { dim: 0 }), /dim must be a positive integer/);
});

test('save/load round-trips within int8 quantisation error and keeps only the most shared n-gram rows', async () => {
  const trained = await plantedVectors();
  const table = EmbeddingTable.fromTrained(trained, { maxBuckets: 300 });
  assert.equal(table.bucketRows, 300);
  const all = EmbeddingTable.fromTrained(trained);
  assert.equal(all.bucketRows, trained.bucketWords.filter((n) => n > 0).length, 'untouched buckets are not stored');
  const dir = tmpDir();
  try {
    const file = path.join(dir, 'e.bin');
    table.save(file);
    assert.deepEqual(fs.readdirSync(dir), ['e.bin'], 'no temporary file is left behind');
    const loaded = EmbeddingTable.load(file);
    assert.deepEqual(loaded.vocab, table.vocab);
    assert.equal(loaded.bucketRows, 300);
    for (const w of ['mice', 'brca1', 'carboplatins', 'unseenword', 'ωψξ']) assert.deepEqual(loaded.vectorOf(w), table.vectorOf(w), w);
    const D = trained.options.dim;
    for (const w of ['mice', 'tp53', 'regimen']) {
      const i = trained.words.indexOf(normalizeWord(w));
      const exact = trained.wordVectors.subarray(i * D, (i + 1) * D);
      const restored = loaded.vectorOf(w);
      const max = Math.max(...exact.map(Math.abs));
      for (let d = 0; d < D; d++) assert.ok(Math.abs(exact[d] - restored[d]) <= max / 254 + 1e-7, `${w}[${d}]: ${exact[d]} vs ${restored[d]}`);
    }
    // Overwriting replaces the file whole.
    all.save(file);
    assert.equal(EmbeddingTable.load(file).bucketRows, all.bucketRows);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test('a damaged file is refused with its name and the problem', async () => {
  const table = EmbeddingTable.fromTrained(await plantedVectors(), { maxBuckets: 200 });
  const dir = tmpDir();
  try {
    const file = path.join(dir, 'vectors.bin');
    table.save(file);
    const good = fs.readFileSync(file);
    const cases: [Buffer | string, RegExp][] = [
      [good.subarray(0, good.length - 1), /vectors\.bin: truncated: \d+ bytes, expected \d+/],
      [good.subarray(0, 200), /vectors\.bin: truncated: the header says/],
      [Buffer.concat([good, Buffer.from([0])]), /vectors\.bin: corrupt: \d+ bytes, expected/],
      ['hello', /vectors\.bin: not a MetaBioNER embeddings file/],
    ];
    const badJson = Buffer.from(good);
    badJson[12] = 0x7b; // a '{' inside the JSON header
    cases.push([badJson, /vectors\.bin: corrupt header/]);
    for (const [bytes, error] of cases) {
      fs.writeFileSync(file, bytes);
      assert.throws(() => EmbeddingTable.load(file), error);
    }
    assert.throws(() => EmbeddingTable.load(path.join(dir, 'missing.bin')), /missing\.bin: cannot read word vectors \(ENOENT\)/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test('version-1 files (bucket ids in the header, no counts) still load', () => {
  const dim = 4;
  const options = { dim, window: 5, negatives: 5, epochs: 1, minCount: 1, minN: 3, maxN: 6, buckets: 50, lr: 0.05, sample: 0, seed: 1 };
  // One word, and all 50 buckets stored with the same row, so any unknown word with an n-gram averages to it.
  const buckets = [...Array(50).keys()];
  const h = Buffer.from(JSON.stringify({ format: 'metabioner-embeddings', version: 1, dim, options, words: ['x'], buckets }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(h.length);
  const wordScale = new Float32Array([0.5]);
  const bucketScale = new Float32Array(50).fill(0.25);
  const wordQ = new Int8Array([1, 2, 3, 4]);
  const bucketQ = new Int8Array(50 * dim).fill(4);
  const buf = Buffer.concat([Buffer.from('MBEMB1\n', 'latin1'), len, h, Buffer.from(wordScale.buffer), Buffer.from(bucketScale.buffer), Buffer.from(wordQ.buffer), Buffer.from(bucketQ.buffer)]);
  const dir = tmpDir();
  try {
    const file = path.join(dir, 'v1.bin');
    fs.writeFileSync(file, buf);
    const t = EmbeddingTable.load(file);
    assert.deepEqual(t.vocab, [{ word: 'x', count: 0 }]);
    assert.deepEqual([...t.vectorOf('X')], [0.5, 1, 1.5, 2]);
    assert.deepEqual([...t.vectorOf('abc')], [1, 1, 1, 1], 'every bucket holds 4 × 0.25');
    fs.writeFileSync(file, buf.subarray(0, buf.length - 3));
    assert.throws(() => EmbeddingTable.load(file), /v1\.bin: truncated/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

function writeCorpus(root: string, name: string, splits: Record<'train' | 'devel' | 'test', string[][]>): void {
  fs.mkdirSync(path.join(root, name), { recursive: true });
  for (const [split, sentences] of Object.entries(splits)) {
    fs.writeFileSync(path.join(root, name, `${split}.tsv`), sentences.map((s) => s.map((t) => `${t}\tO`).join('\n')).join('\n\n') + '\n');
  }
}

test('ensureEmbeddings trains on train+devel of every corpus (shared sentences once, never test) and caches', async () => {
  const dir = tmpDir();
  try {
    const root = path.join(dir, 'corpora');
    const cache = path.join(dir, 'cache');
    const text = plantedCorpus(3, 200);
    const shared = ['shared', 'sentence', 'twice'];
    writeCorpus(root, 'A', { train: [...text.slice(0, 100), shared], devel: text.slice(100, 150), test: [['testonly', 'testonly']] });
    writeCorpus(root, 'B', { train: [shared, ...text.slice(150)], devel: [['devonly', 'devonly']], test: [['testonly']] });
    fs.mkdirSync(path.join(root, 'incomplete')); // no splits: not a corpus
    const sentences = embeddingText(root);
    assert.equal(sentences.length, 200 + 1 + 1);
    const options = { dim: 8, epochs: 1, buckets: 1000, minCount: 1 };
    let progressCalls = 0;
    const onProgress = () => void progressCalls++;
    const file = await ensureEmbeddings({ corporaRoot: root, cacheDir: cache, options, onProgress });
    assert.ok(progressCalls > 0);
    assert.equal(path.dirname(file), cache);
    const table = EmbeddingTable.load(file);
    assert.ok(table.has('devonly'));
    assert.ok(!table.has('testonly'), 'test splits are never read');
    assert.equal(table.vocab.find((e) => e.word === 'shared')?.count, 1, 'a sentence in two corpora counts once');

    const mtime = fs.statSync(file).mtimeMs;
    progressCalls = 0;
    assert.equal(await ensureEmbeddings({ corporaRoot: root, cacheDir: cache, options, onProgress }), file);
    assert.equal(progressCalls, 0, 'the cached file is reused without training');
    assert.equal(fs.statSync(file).mtimeMs, mtime);

    const other = await ensureEmbeddings({ corporaRoot: root, cacheDir: cache, options: { ...options, seed: 7 } });
    assert.notEqual(other, file, 'other options, other cache entry');
    // A copied or re-synced corpus (new modification time, same text) reuses the entry.
    const devel = path.join(root, 'B', 'devel.tsv');
    fs.utimesSync(devel, new Date(), new Date(Date.now() + 60_000));
    assert.equal(await ensureEmbeddings({ corporaRoot: root, cacheDir: cache, options, onProgress }), file);
    assert.equal(progressCalls, 0, 'a touched corpus file is not retrained');
    // An edit that keeps the size and the modification time still retrains.
    const develText = fs.readFileSync(devel, 'utf8');
    const { mtime: before } = fs.statSync(devel);
    fs.writeFileSync(devel, develText.replace('devonly', 'devanly'));
    fs.utimesSync(devel, before, before);
    const edited = await ensureEmbeddings({ corporaRoot: root, cacheDir: cache, options });
    assert.notEqual(edited, file, 'an edit of the same size retrains');
    fs.writeFileSync(devel, develText);
    fs.appendFileSync(devel, '\nnewword\tO\nnewword\tO\n');
    const changed = await ensureEmbeddings({ corporaRoot: root, cacheDir: cache, options });
    assert.notEqual(changed, file, 'a changed corpus file retrains');
    assert.ok(EmbeddingTable.load(changed).has('newword'));

    // A damaged cache entry is retrained in place.
    fs.writeFileSync(changed, 'garbage');
    assert.equal(await ensureEmbeddings({ corporaRoot: root, cacheDir: cache, options }), changed);
    assert.ok(EmbeddingTable.load(changed).has('newword'));
    assert.deepEqual(fs.readdirSync(cache).filter((f) => !f.endsWith('.bin')), [], 'no temporary files are left');

    await assert.rejects(ensureEmbeddings({ corporaRoot: path.join(dir, 'nothing'), cacheDir: cache }), /no corpora .* in .*nothing/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});
