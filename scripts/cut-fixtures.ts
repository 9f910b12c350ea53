/**
 * Cuts the small corpus samples the tests use (test/fixtures/corpora) from the full corpora, deterministically:
 *   node --import tsx scripts/cut-fixtures.ts [corpora root]
 * Per corpus and split, a seeded random sample (300 train, 80 devel, 80 test sentences) of which 60% contain
 * an entity (where the split has enough), written in the corpora's own format and checked in strict mode.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatConll, parseConll } from '../training/data/conll';
import { corporaRoot, fixturesRoot, listCorpora, loadSplit, SPLITS } from '../training/data/corpora';
import type { CorpusSplit, Sentence } from '../training/data/types';
import { Rng } from '../training/util/random';

const SIZES: Record<CorpusSplit, number> = { train: 300, devel: 80, test: 80 };
const WITH_ENTITY = 0.6;

function sample(sentences: Sentence[], n: number, rng: Rng): Sentence[] {
  const withEntity = sentences.filter((s) => s.tags.some((t) => t !== 'O'));
  const without = sentences.filter((s) => s.tags.every((t) => t === 'O'));
  const k = Math.min(withEntity.length, Math.round(n * WITH_ENTITY));
  const picked = [...rng.sample(withEntity.length, k).map((i) => withEntity[i]), ...rng.sample(without.length, n - k).map((i) => without[i])];
  // Keep the corpus order so that neighbouring sentences of an abstract stay in sequence.
  return picked.sort((a, b) => (a.source?.line ?? 0) - (b.source?.line ?? 0));
}

const root = process.argv[2] ?? corporaRoot();
const out = fixturesRoot();
const corpora = listCorpora(root);
if (corpora.length === 0) throw new Error(`no corpora in ${root}`);
for (const corpus of corpora) {
  for (const split of SPLITS) {
    const rng = new Rng([...`${corpus}/${split}`].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261) >>> 0);
    const picked = sample(loadSplit(root, corpus, split), SIZES[split], rng);
    const text = formatConll(picked);
    const file = path.join(out, corpus, `${split}.tsv`);
    parseConll(text, file, { strict: true });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text.replace(/\n$/, '') + '\n');
    process.stdout.write(`${file}: ${picked.length} sentences, ${picked.filter((s) => s.tags.some((t) => t !== 'O')).length} with entities\n`);
  }
}
