import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { WordVectors } from '../model/features';
import type { ModelInfo, NerModel } from '../model/ner-model';
import type { TrainHooks, TrainProgress } from '../train/epoch-loop';
import { MultiTaskModel, viewNames } from './mtl-model';
import { DEFAULT_MULTITASK, MultiTaskCorpus, MultiTaskOptions, MultiTaskResult, MultiTaskStart, trainMultiTask, unifiedCorpora } from './mtl-train';
import { viewOf } from './sharing';
import { UNIFIED_TYPE_MAPS } from './type-map';

export interface PipelineOptions extends MultiTaskOptions {
  /** MT-BERT's third stage: per corpus, a new head on a copy of the multi-task encoder, smaller learning rate. */
  fineTune: boolean;
  fineTuneEpochs: number;
  fineTuneLr: number;
}

export const DEFAULT_PIPELINE: PipelineOptions = { ...DEFAULT_MULTITASK, fineTune: false, fineTuneEpochs: 3, fineTuneLr: 5e-4 };

export type Stage = 'multitask' | 'hierarchical' | 'unified' | `fine-tune:${string}`;

export interface PipelineHooks extends Omit<TrainHooks, 'onProgress'> {
  onProgress?: (stage: Stage, p: TrainProgress) => void;
  onStageDone?: (stage: Stage, r: MultiTaskResult) => void;
}

export interface PipelineResult {
  /** The multi-task model (for hierarchical sharing: the sliced one). */
  model: MultiTaskModel;
  /** Per-corpus fine-tuned taggers, when asked for. */
  fineTuned: Record<string, NerModel>;
  stages: { stage: Stage; result: Omit<MultiTaskResult, 'model'> }[];
}

/**
 * The whole multi-task recipe for one sharing mode: `heads` trains the shared encoder with per-corpus decoders;
 * `hierarchical` first does that with every layer shared, then slices (lower layers shared, upper ones per
 * corpus, starting from the shared weights) and trains again; `unified` renames types per corpus and trains one
 * CRF for all. Optionally each corpus is then fine-tuned. Each stage keeps its own checkpoint under
 * `hooks.checkpointDir`, so a stopped pipeline resumes in the stage it was in.
 */
export async function runMultiTaskPipeline(
  corpora: readonly MultiTaskCorpus[],
  words: WordVectors,
  info: Omit<ModelInfo, 'created' | 'hyper' | 'metrics'>,
  options: Partial<PipelineOptions> = {},
  hooks: PipelineHooks = {},
  /** Unified: the weights to start from (e.g. an earlier unified model's, to add conventions to it). */
  start?: MultiTaskStart,
): Promise<PipelineResult> {
  const o = { ...DEFAULT_PIPELINE, ...options };
  const stages: PipelineResult['stages'] = [];
  const stageHooks = (stage: Stage): TrainHooks => ({
    signal: hooks.signal,
    checkpointEvery: hooks.checkpointEvery,
    checkpointMinutes: hooks.checkpointMinutes,
    workers: hooks.workers,
    checkpointDir: hooks.checkpointDir && path.join(hooks.checkpointDir, stage.replace(/[^\w.-]+/g, '_')),
    onProgress: (p) => hooks.onProgress?.(stage, p),
  });
  const run = async (stage: Stage, data: readonly MultiTaskCorpus[], opts: Partial<MultiTaskOptions>, start?: Parameters<typeof trainMultiTask>[5]) => {
    const r = await trainMultiTask(data, words, { ...info, name: stage.startsWith('fine-tune') ? `${info.name}+${stage}` : info.name }, opts, stageHooks(stage), start);
    const { model: _model, ...rest } = r;
    stages.push({ stage, result: rest });
    hooks.onStageDone?.(stage, r);
    return r;
  };

  let model: MultiTaskModel;
  if (o.sharing === 'unified') {
    model = (await run('unified', unifiedCorpora(corpora, UNIFIED_TYPE_MAPS), { ...o, sharing: 'unified' }, start)).model;
  } else {
    const shared = await run('multitask', corpora, { ...o, sharing: 'heads' });
    model = shared.model;
    if (o.sharing === 'hierarchical' && !hooks.signal?.aborted) {
      const start = { params: model.params, chars: model.chars };
      const sliced = await run('hierarchical', corpora, { ...o, sharing: 'hierarchical' }, start);
      model.dispose();
      model = sliced.model;
    }
  }

  const fineTuned: Record<string, NerModel> = {};
  if (o.fineTune && o.sharing !== 'unified') {
    for (const c of corpora) {
      if (hooks.signal?.aborted) break;
      // A copy of the corpus' encoder (shared and private layers under their single-model names); the head is new.
      const view = viewOf(model.params, model.layout, c.name, viewNames(model.shape));
      const encoder = Object.fromEntries(Object.entries(view).filter(([n]) => n.startsWith('enc.'))) as Record<string, tf.Tensor>;
      const r = await run(`fine-tune:${c.name}`, [c], { ...o, sharing: 'heads', epochs: o.fineTuneEpochs, lr: o.fineTuneLr }, { params: encoder, chars: model.chars });
      fineTuned[c.name] = r.model.modelFor(c.name);
    }
  }
  return { model, fineTuned, stages };
}
