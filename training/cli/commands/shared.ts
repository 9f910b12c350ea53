import * as path from 'node:path';
import { ensureEmbeddings } from '../../embeddings/cache';
import { EmbeddingTable } from '../../embeddings/store';
import { cacheDir } from '../../io/paths';
import type { OptionSpec } from '../command';
import type { ProgressLine } from '../progress';

export const WORD_VECTOR_OPTIONS: Record<string, OptionSpec> = {
  embeddings: { type: 'string', description: 'word vectors file from `metabioner embed` (default: trained once from the corpora and cached)', valueName: 'FILE' },
};

export function corpusList(value: unknown): string[] {
  return typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

/** The word vectors named by --embeddings, or the cached corpus-trained ones (trained now if missing). */
export async function loadWordVectors(values: Record<string, unknown>, corporaRoot: string, progress: ProgressLine): Promise<EmbeddingTable> {
  const file = values.embeddings as string | undefined;
  if (file) return EmbeddingTable.load(file);
  const cached = await ensureEmbeddings({
    corporaRoot,
    cacheDir: path.join(cacheDir(), 'embeddings'),
    onProgress: (fraction: number, wordsPerSecond: number) => progress.update(fraction, `training word vectors from the corpora: ${Math.round(wordsPerSecond)} words/s`),
  });
  progress.done();
  return EmbeddingTable.load(cached);
}
