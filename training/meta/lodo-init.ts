import { listCorpora } from '../data/corpora';
import type { WordVectors } from '../model/features';
import type { NerModel } from '../model/ner-model';
import { PipelineHooks, PipelineOptions, runMultiTaskPipeline } from '../multitask/pipeline';
import { loadCorpora } from '../train/training-data';
import { metaTrainingCorpora } from './tasks';

export interface MtlInitOptions extends Partial<PipelineOptions> {
  /** Train sentences per source corpus (the first N; 0 = all). */
  maxTrainSentences: number;
}

/**
 * The `mtl` initialisation of leave-one-domain-out meta-testing: the unified multi-task tagger (one CRF over the
 * union of the sources' types, partial-label loss; see training/multitask/) trained on the train splits of every
 * available corpus outside the target domain and early-stopped on their devel splits. The target domain's corpora
 * are never read; the model's `trainedOn` names every split it saw. Meta-testing then adapts its encoder with a
 * new decoder (replace mode) or grows its decoder by the target's types (extend mode).
 */
export async function trainMtlInit(root: string, target: string, words: WordVectors, options: MtlInitOptions, hooks: PipelineHooks = {}): Promise<NerModel> {
  const sources = metaTrainingCorpora(target, listCorpora(root));
  if (sources.length === 0) throw new Error(`no source corpora outside ${target} in ${root}`);
  const corpora = loadCorpora(root, sources);
  if (options.maxTrainSentences > 0) for (const c of corpora) c.train = c.train.slice(0, options.maxTrainSentences);
  const { maxTrainSentences, ...pipeline } = options;
  const info = { name: `mtl-unified-without-${target.replace(/\W+/g, '')}`, trainedOn: sources.flatMap((c) => [`${c}/train`, `${c}/devel`]) };
  const r = await runMultiTaskPipeline(corpora, words, info, { ...pipeline, sharing: 'unified', fineTune: false }, hooks);
  // A unified model is one tagger: every corpus' view is the whole of it.
  const model = r.model.modelFor(sources[0]);
  model.info = { ...model.info, hyper: { ...model.info.hyper, heldOutDomain: target, sources, maxTrainSentences }, metrics: { ...r.model.info.metrics, stages: r.stages } };
  return model;
}
