import * as path from 'node:path';
import { DEFAULT_EMBEDDING_OPTIONS, EmbeddingOptions, trainEmbeddings } from '../../embeddings/fasttext';
import { embeddingText, ensureEmbeddings } from '../../embeddings/cache';
import { EmbeddingTable } from '../../embeddings/store';
import { cacheDir } from '../../io/paths';
import { listCorpora } from '../../data/corpora';
import { Command, intOption, numberOption, UsageError } from '../command';
import { CORPUS_OPTIONS, corporaRootOption } from './shared';
import { ProgressLine } from '../progress';

export const embedCommand: Command = {
  name: 'embed',
  summary: 'Train word vectors (skip-gram with character n-grams) from the train and devel text of every corpus; cached for train.',
  options: {
    'corpora-root': CORPUS_OPTIONS['corpora-root'],
    out: { type: 'string', description: 'write the vectors here instead of the cache', valueName: 'FILE' },
    dim: { type: 'string', description: 'vector size', default: String(DEFAULT_EMBEDDING_OPTIONS.dim), valueName: 'N' },
    epochs: { type: 'string', description: 'passes over the text', default: String(DEFAULT_EMBEDDING_OPTIONS.epochs), valueName: 'N' },
    window: { type: 'string', description: 'context window', default: String(DEFAULT_EMBEDDING_OPTIONS.window), valueName: 'N' },
    'min-count': { type: 'string', description: 'least frequency of a vocabulary word', default: String(DEFAULT_EMBEDDING_OPTIONS.minCount), valueName: 'N' },
    lr: { type: 'string', description: 'initial learning rate', default: String(DEFAULT_EMBEDDING_OPTIONS.lr), valueName: 'X' },
    seed: { type: 'string', description: 'random seed', default: String(DEFAULT_EMBEDDING_OPTIONS.seed), valueName: 'N' },
    neighbours: { type: 'string', description: 'print nearest neighbours of these words afterwards', valueName: 'W1,W2' },
  },
  async run(values) {
    const root = corporaRootOption(values);
    if (listCorpora(root).length === 0) throw new UsageError(`no corpora (folders with train.tsv, devel.tsv and test.tsv) in ${root} to train word vectors from (--corpora-root DIR)`);
    const options: Partial<EmbeddingOptions> = {};
    for (const [flag, key] of [['dim', 'dim'], ['epochs', 'epochs'], ['window', 'window'], ['min-count', 'minCount'], ['seed', 'seed']] as const) {
      const v = intOption(values, flag);
      if (v !== undefined) options[key] = v;
    }
    const lr = numberOption(values, 'lr');
    if (lr !== undefined) options.lr = lr;
    const progress = new ProgressLine();
    const onProgress = (fraction: number, wps: number) => progress.update(fraction, `${Math.round(wps)} words/s`);
    const started = Date.now();
    let file: string;
    if (values.out) {
      const trained = await trainEmbeddings(embeddingText(root), options, onProgress);
      file = path.resolve(values.out as string);
      EmbeddingTable.fromTrained(trained).save(file);
    } else {
      file = await ensureEmbeddings({ corporaRoot: root, cacheDir: path.join(cacheDir(), 'embeddings'), options, onProgress });
    }
    progress.done();
    const table = EmbeddingTable.load(file);
    process.stdout.write(`${table.vocabularySize} words × ${table.dim} dims in ${file} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    if (typeof values.neighbours === 'string') {
      for (const w of values.neighbours.split(',')) {
        process.stdout.write(`${w}: ${table.nearest(w, 8).map((n) => `${n.word} ${n.similarity.toFixed(2)}`).join(', ')}\n`);
      }
    }
    return 0;
  },
};
