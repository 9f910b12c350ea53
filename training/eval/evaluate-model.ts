import type { Sentence } from '../data/types';
import type { NerModel, SentencePrediction } from '../model/ner-model';
import { ConllevalResult, evaluate } from './conlleval';

export type EvaluationResult = ConllevalResult;

/** Keeps only tags of the given types (others become O): a corpus is scored on what it annotates. */
export function restrictTags(tags: readonly string[], types: readonly string[]): string[] {
  return tags.map((t) => (t === 'O' || types.includes(t.slice(2)) ? t : 'O'));
}

/**
 * conlleval scores of the model on sentences of one corpus, counting only `types` (the "disjoint"
 * evaluation: a multi-type tagger is not penalised for types the corpus does not annotate).
 */
export function evaluateModel(model: NerModel, sentences: readonly Sentence[], types: readonly string[] = model.types, strictIob2 = false): EvaluationResult {
  return evaluatePredictions(sentences, model.predict(sentences.map((s) => s.tokens)), types, strictIob2);
}

/** The same scores from predictions made elsewhere (e.g. by a pool of tagging workers). */
export function evaluatePredictions(sentences: readonly Sentence[], predicted: readonly Pick<SentencePrediction, 'tags'>[], types: readonly string[], strictIob2 = false): EvaluationResult {
  return evaluate(
    sentences.map((s) => restrictTags(s.tags, types)),
    predicted.map((p) => restrictTags(p.tags, types)),
    { strictIob2 },
  );
}
