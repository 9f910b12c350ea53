import type { Sentence } from '../data/types';
import { EvaluationResult, evaluatePredictions } from '../eval/evaluate-model';
import { NerModel, predictionBatches } from '../model/ner-model';
import type { ComputePool } from './compute-pool';

/**
 * `evaluateModel` on the threads of a training pool: the same batches as `NerModel.predict`, decoded by the
 * workers' replicas of the current weights (read through `view`), scored on the main thread. Tags only: devel F1
 * needs no confidences.
 */
export async function evaluateOnPool(pool: ComputePool, model: NerModel, view: [string, string][], sentences: readonly Sentence[], types: readonly string[]): Promise<EvaluationResult> {
  const tokens = sentences.map((s) => s.tokens);
  const groups = predictionBatches(tokens)
    .map((idx) => idx.filter((k) => tokens[k].length > 0))
    .filter((g) => g.length > 0);
  const paths = await pool.decode(
    groups.map((g) => model.featurizer.batch(g.map((k) => tokens[k]))),
    view,
  );
  const predicted = sentences.map(() => ({ tags: [] as string[] }));
  groups.forEach((g, b) => g.forEach((k, j) => (predicted[k] = { tags: model.tagSet.decode(paths[b][j]) })));
  return evaluatePredictions(sentences, predicted, types);
}
