import type { Sentence } from '../data/types';
import { evaluateModel } from '../eval/evaluate-model';
import type { NerModel } from '../model/ner-model';
import type { MultiTaskModel } from './mtl-model';
import { mapSentenceTypes, mappedTypes, UNIFIED_TYPE_MAPS } from './type-map';

export interface CorpusScores {
  precision: number;
  recall: number;
  f1: number;
  /** Unified tagger only: every predicted type counts, so a Gene found in a Disease corpus is a false positive. */
  mergedF1?: number;
}

/**
 * Test scores of a corpus' tagger, the two ways the SRU-NER work reports them: disjoint (only the corpus' own
 * types, after the unified renaming) and, for the unified tagger, merged.
 */
export function scoreCorpus(model: MultiTaskModel, corpus: string, sentences: readonly Sentence[], types: readonly string[], tagger?: NerModel): CorpusScores {
  const unified = model.layout.sharing === 'unified';
  const map = unified ? (UNIFIED_TYPE_MAPS[corpus] ?? {}) : {};
  const gold = unified ? sentences.map((s) => mapSentenceTypes(s, map)) : [...sentences];
  const own = unified ? mappedTypes(types, map) : [...types];
  const m = tagger ?? model.modelFor(corpus);
  const r = evaluateModel(m, gold, own);
  const scores: CorpusScores = { precision: r.precision, recall: r.recall, f1: r.f1 };
  if (unified) scores.mergedF1 = evaluateModel(m, gold, m.types).f1;
  return scores;
}
