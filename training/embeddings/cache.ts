import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listCorpora, loadSplit, splitFile } from '../data/corpora';
import type { CorpusSplit } from '../data/types';
import { DEFAULT_EMBEDDING_OPTIONS, EmbeddingOptions, EmbeddingProgress, trainEmbeddings } from './fasttext';
import { EmbeddingTable } from './store';

/** Test splits never feed the embeddings, so that test scores stay clean. */
const TEXT_SPLITS: CorpusSplit[] = ['train', 'devel'];

export interface EnsureOptions {
  corporaRoot: string;
  cacheDir: string;
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
        const key = s.tokens.join(' ');
        if (seen.has(key)) continue;
        seen.add(key);
        out.push(s.tokens);
      }
    }
  }
  return out;
}

function cacheKey(root: string, options: EmbeddingOptions): string {
  const h = createHash('sha256').update(JSON.stringify(options));
  for (const corpus of listCorpora(root)) {
    for (const split of TEXT_SPLITS) {
      const st = fs.statSync(splitFile(root, corpus, split));
      h.update(`${corpus}/${split}:${st.size}:${st.mtimeMs}`);
    }
  }
  return h.digest('hex').slice(0, 16);
}

/** Path of word vectors trained from the corpora under `corporaRoot`, trained now unless cached. */
export async function ensureEmbeddings(opts: EnsureOptions): Promise<string> {
  const options = { ...DEFAULT_EMBEDDING_OPTIONS, ...opts.options };
  if (listCorpora(opts.corporaRoot).length === 0) throw new Error(`no corpora found in ${opts.corporaRoot} to train word vectors from`);
  const file = path.join(opts.cacheDir, `embeddings-${cacheKey(opts.corporaRoot, options)}.bin`);
  if (fs.existsSync(file)) {
    try {
      EmbeddingTable.load(file);
      return file;
    } catch {
      // a damaged cache entry is retrained below
    }
  }
  const trained = await trainEmbeddings(embeddingText(opts.corporaRoot), options, opts.onProgress);
  EmbeddingTable.fromTrained(trained).save(file);
  return file;
}
