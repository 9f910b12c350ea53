import { loadSplit } from '../data/corpora';
import { entityTypes } from '../data/tagging-scheme';
import type { CorpusSplit, Sentence } from '../data/types';
import type { TrainingData } from './supervised';

export interface LoadedCorpus {
  name: string;
  types: string[];
  train: Sentence[];
  devel: Sentence[];
}

/** Reads train and devel splits of the named corpora; the types a corpus annotates are those its train split uses. */
export function loadCorpora(root: string, names: readonly string[]): LoadedCorpus[] {
  return names.map((name) => {
    const train = loadSplit(root, name, 'train');
    const devel = loadSplit(root, name, 'devel');
    return { name, types: entityTypes(train), train, devel };
  });
}

export function trainingDataOf(corpora: readonly LoadedCorpus[]): TrainingData {
  return {
    train: corpora.flatMap((c) => c.train.map((sentence) => ({ sentence, annotatedTypes: c.types, corpus: c.name }))),
    devel: corpora.map((c) => ({ corpus: c.name, types: c.types, sentences: c.devel })),
  };
}

export function loadEvaluationSplit(root: string, corpus: string, split: CorpusSplit): { sentences: Sentence[]; types: string[] } {
  const sentences = loadSplit(root, corpus, split);
  // A corpus' own types come from its train split: a test split could lack a rare type.
  let types = entityTypes(sentences);
  try {
    types = entityTypes(loadSplit(root, corpus, 'train'));
  } catch {
    // only this split is present (a user's own file): its types are all we know
  }
  return { sentences, types };
}
