import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { corporaRoot as defaultCorporaRoot, listCorpora, loadSplit, splitFile } from '../data/corpora';
import type { CorpusSplit } from '../data/types';
import { cacheDir as defaultCacheRoot } from '../io/paths';
import { DEFAULT_EMBEDDING_OPTIONS, EmbeddingOptions, EmbeddingProgress, trainEmbeddings } from './fasttext';
import { DEFAULT_SAVED_BUCKETS, EmbeddingTable } from './store';

/** Test splits never feed the embeddings, so that test scores stay clean. */
const TEXT_SPLITS: CorpusSplit[] = ['train', 'devel'];

/**
 * Bumped whenever training or the stored format changes in a way that changes the vectors, so that stale
 * cache entries are not reused. 2: fastText-style subsampling (dropped words leave the window), 200k buckets
 * with the 40k most shared kept, counts stored.
 */
const TRAINER_VERSION = 2;

export interface EnsureOptions {
  /** Default: $METABIONER_CORPORA, else ../shared/corpora beside the package. */
  corporaRoot?: string;
  /** Default: <package>/.cache/embeddings (or $METABIONER_CACHE/embeddings). */
  cacheDir?: string;
  options?: Partial<EmbeddingOptions>;
  onProgress?: EmbeddingProgress;
}

/** Token sequences of the train and devel text of every corpus, each distinct sentence once (BC5CDR's two corpora share text). */
export function embeddingText(root: string): string[][] {
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const corpus of listCorpora(root)) {
    for (const split of TEXT_SPLITS) {
      for (const s of loadSplit(root, corpus, split)) {
        const key = s.tokens.join('\u0000');
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(s.tokens);
      }
    }
  }
  return out;
}

/**
 * The cache file name for these options and the contents of the corpus files. Contents, not modification
 * times: copying or re-syncing a corpus folder must not retrain (about ten minutes on one core), while an
 * edit that keeps a file's size must.
 */
export function embeddingCacheKey(root: string, options: EmbeddingOptions): string {
  const h = createHash('sha256').update(JSON.stringify({ trainer: TRAINER_VERSION, savedBuckets: DEFAULT_SAVED_BUCKETS, options }));
  for (const corpus of listCorpora(root)) {
    for (const split of TEXT_SPLITS) {
      h.update(`\n${corpus}/${split}:`);
      h.update(fs.readFileSync(splitFile(root, corpus, split)));
    }
  }
  return h.digest('hex').slice(0, 16);
}

/**
 * Path of word vectors trained from the train and devel splits of every corpus under `corporaRoot`: an
 * existing cache entry for the same options and corpus files, else trained now and cached.
 */
export async function ensureEmbeddings(opts: EnsureOptions = {}): Promise<string> {
  const root = opts.corporaRoot ?? defaultCorporaRoot();
  const dir = opts.cacheDir ?? path.join(defaultCacheRoot(), 'embeddings');
  const options: EmbeddingOptions = { ...DEFAULT_EMBEDDING_OPTIONS, ...opts.options };
  if (listCorpora(root).length === 0) throw new Error(`no corpora (folders with train.tsv, devel.tsv and test.tsv) in ${root} to train word vectors from`);
  const file = path.join(dir, `embeddings-${embeddingCacheKey(root, options)}.bin`);
  if (fs.existsSync(file)) {
    try {
      EmbeddingTable.load(file);
      return file;
    } catch {
      // a damaged cache entry is retrained below and replaced atomically
    }
  }
  const trained = await trainEmbeddings(embeddingText(root), options, opts.onProgress);
  EmbeddingTable.fromTrained(trained).save(file);
  return file;
}
