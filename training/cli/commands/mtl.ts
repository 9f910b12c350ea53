import * as path from 'node:path';
import { packageRoot } from '../../io/paths';
import { loadModel, saveModel } from '../../model/model-io';
import type { MultiTaskStart } from '../../multitask/mtl-train';
import { hasCheckpoint, loadCheckpoint } from '../../train/checkpoint';
import { scoreCorpus } from '../../multitask/evaluate';
import { DEFAULT_PIPELINE, PipelineOptions, runMultiTaskPipeline } from '../../multitask/pipeline';
import { SHARINGS, Sharing } from '../../multitask/sharing';
import { loadEvaluationSplit } from '../../train/training-data';
import { Command, intOption, numberOption, UsageError } from '../command';
import { CHECKPOINT_OPTIONS, checkpointHooks, CORPUS_OPTIONS, corpusList, trainingSetup, WORD_VECTOR_OPTIONS, WORKER_OPTIONS, workersOption, stopSignals, schemeOption } from './shared';

const D = DEFAULT_PIPELINE;

/**
 * Weights to start a unified run from: a model directory's, or a unified checkpoint's best epoch (its live
 * weights if no epoch finished). The caller disposes them.
 */
function startFrom(dir: string): MultiTaskStart {
  if (hasCheckpoint(dir)) {
    const c = loadCheckpoint<unknown>(dir, 'multitask');
    const params = c.tensors.best ?? c.tensors.params ?? {};
    for (const tensors of Object.values(c.tensors)) if (tensors !== params) for (const t of Object.values(tensors)) t.dispose();
    return { params };
  }
  const model = loadModel(dir);
  return { params: model.params, chars: model.chars };
}

export const mtlTrainCommand: Command = {
  name: 'mtl-train',
  summary: 'Multi-task training over several corpora: per-corpus heads, hierarchical layer sharing, or one unified tagger for all types.',
  options: {
    ...CORPUS_OPTIONS,
    sharing: { type: 'string', description: SHARINGS.join(' | '), default: D.sharing, valueName: 'MODE' },
    'slicing-rate': { type: 'string', description: 'hierarchical: share the lower k of n BiLSTM layers, k/n in [0, 1]', default: String(D.slicingRate), valueName: 'R' },
    layers: { type: 'string', description: 'stacked BiLSTM layers (each above the first adds its input to its output)', default: String(D.layers), valueName: 'N' },
    hidden: { type: 'string', description: 'LSTM units per direction', default: String(D.hidden), valueName: 'N' },
    epochs: { type: 'string', description: 'maximum epochs of each multi-task stage', default: String(D.epochs), valueName: 'N' },
    'batch-size': { type: 'string', description: 'sentences per mini-batch (one corpus per batch)', default: String(D.batchSize), valueName: 'N' },
    lr: { type: 'string', description: 'AdamW learning rate (linear schedule)', default: String(D.lr), valueName: 'X' },
    dropout: { type: 'string', description: 'dropout rate', default: String(D.dropout), valueName: 'P' },
    'word-dropout': { type: 'string', description: 'probability of zeroing a word vector in training (the char-CNN still sees the word)', default: String(D.wordDropout), valueName: 'P' },
    'weight-average': { type: 'string', description: 'decay of an exponential moving average of the weights, used for devel evaluation and the saved model (e.g. 0.999; 0 = none)', default: String(D.weightAverage), valueName: 'D' },
    scheme: { type: 'string', description: 'how the CRF spells entities: iob2 | bioes (corpora and output stay IOB2)', default: String(D.scheme), valueName: 'S' },
    patience: { type: 'string', description: 'epochs without a better mean devel F1 before stopping', default: String(D.patience), valueName: 'N' },
    sampling: { type: 'string', description: 'corpus of each batch: proportional | uniform | temperature', default: D.sampling, valueName: 'S' },
    temperature: { type: 'string', description: 'temperature sampling: P(corpus) ∝ batches^(1/T)', default: String(D.temperature), valueName: 'T' },
    conventions: { type: 'string', description: "unified: probability that a batch trains its corpus' own emission layer (annotation convention) instead of the generic one; 0 = generic only", default: String(D.conventions), valueName: 'P' },
    'init-from': { type: 'string', description: "unified: start from the weights of this model directory, or the best epoch of this unified checkpoint (e.g. runs/default/unified), to add conventions to a trained tagger", valueName: 'DIR' },
    'fine-tune': { type: 'boolean', description: 'then fine-tune a new head per corpus on a copy of the encoder' },
    'fine-tune-epochs': { type: 'string', description: 'epochs of each fine-tuning', default: String(D.fineTuneEpochs), valueName: 'N' },
    'fine-tune-lr': { type: 'string', description: 'learning rate of the fine-tuning', default: String(D.fineTuneLr), valueName: 'X' },
    seed: { type: 'string', description: 'random seed', default: String(D.seed), valueName: 'N' },
    'max-minutes': { type: 'string', description: 'stop each stage after this many minutes, keeping its best epoch (0 = no limit)', default: '0', valueName: 'M' },
    'max-train-sentences': { type: 'string', description: 'use only the first N training sentences of each corpus (0 = all)', default: '0', valueName: 'N' },
    'no-test': { type: 'boolean', description: 'skip the test-split evaluation' },
    out: { type: 'string', description: 'output directory (unified: one model; otherwise one model per corpus)', valueName: 'DIR' },
    ...WORD_VECTOR_OPTIONS,
    ...CHECKPOINT_OPTIONS,
    ...WORKER_OPTIONS,
  },
  async run(values) {
    const workers = workersOption(values);
    const names = corpusList(values.corpus);
    if (names.length === 0) throw new UsageError('mtl-train needs --corpus A,B,…');
    const sharing = values.sharing as Sharing;
    if (!SHARINGS.includes(sharing)) throw new UsageError(`--sharing must be one of ${SHARINGS.join(', ')}`);
    const sampling = values.sampling as PipelineOptions['sampling'];
    if (!['proportional', 'uniform', 'temperature'].includes(sampling)) throw new UsageError('--sampling must be proportional, uniform or temperature');
    const { root, corpora, words, progress } = await trainingSetup(values, names);
    const options: Partial<PipelineOptions> = Object.fromEntries(
      Object.entries({
        sharing,
        sampling,
        slicingRate: numberOption(values, 'slicing-rate'),
        layers: intOption(values, 'layers'),
        hidden: intOption(values, 'hidden'),
        epochs: intOption(values, 'epochs'),
        batchSize: intOption(values, 'batch-size'),
        lr: numberOption(values, 'lr'),
        dropout: numberOption(values, 'dropout'),
        wordDropout: numberOption(values, 'word-dropout'),
        weightAverage: numberOption(values, 'weight-average'),
        scheme: schemeOption(values),
        patience: intOption(values, 'patience'),
        temperature: numberOption(values, 'temperature'),
        fineTune: values['fine-tune'] === true,
        fineTuneEpochs: intOption(values, 'fine-tune-epochs'),
        fineTuneLr: numberOption(values, 'fine-tune-lr'),
        seed: intOption(values, 'seed'),
        maxMinutes: numberOption(values, 'max-minutes'),
        conventions: numberOption(values, 'conventions'),
      }).filter(([, v]) => v !== undefined),
    );
    const initFrom = values['init-from'] as string | undefined;
    if (initFrom !== undefined && sharing !== 'unified') throw new UsageError('--init-from needs --sharing unified');
    const start = initFrom === undefined ? undefined : startFrom(initFrom);
    const stop = stopSignals(progress);
    const name = sharing === 'unified' ? `unified:${names.join('+')}` : `mtl-${sharing}:${names.join('+')}`;
    const command = `metabioner mtl-train ${process.argv.slice(3).join(' ')}`.trim();
    const result = await runMultiTaskPipeline(corpora, words, { name, trainedOn: names.map((n) => `${n}/train`), command }, options, {
      signal: stop.signal,
      workers,
      ...checkpointHooks(values),
      onProgress: (stage, p) => {
        if (p.phase === 'train') progress.update(p.step / p.totalSteps, `${stage} epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(3)} ${Math.round(p.tokensPerSecond)} tok/s`);
        else if (p.phase === 'eval' && p.develF1 !== undefined) progress.log(`${stage} epoch ${p.epoch}: loss ${p.loss.toFixed(4)}  mean devel F1 ${p.develF1.toFixed(4)}  (best ${p.bestDevelF1?.toFixed(4)})  ${p.elapsedSeconds.toFixed(0)} s`);
      },
    }, start);
    if (start) for (const t of Object.values(start.params)) t.dispose();
    progress.done();
    stop.dispose();
    if (stop.paused()) {
      result.model.dispose();
      for (const m of Object.values(result.fineTuned)) m.dispose();
      process.stderr.write(`paused; the checkpoint is in ${String(values.checkpoint ?? '(none: --checkpoint was not given)')}\n`);
      return 0;
    }
    const test: Record<string, unknown> = {};
    if (!values['no-test']) {
      for (const c of corpora) {
        const { sentences, types } = loadEvaluationSplit(root, c.name, 'test');
        const s = scoreCorpus(result.model, c.name, sentences, types);
        const fine = result.fineTuned[c.name] ? scoreCorpus(result.model, c.name, sentences, types, result.fineTuned[c.name]) : undefined;
        // With conventions, a corpus is scored in its own convention too (what `--convention` tags with).
        const own = result.model.layout.conventions ? scoreCorpus(result.model, c.name, sentences, types, result.model.modelFor(c.name, true)) : undefined;
        test[c.name] = { ...s, ...(fine ? { fineTunedF1: fine.f1 } : {}), ...(own ? { convention: own } : {}) };
        process.stdout.write(`${c.name} test: P ${s.precision.toFixed(4)} R ${s.recall.toFixed(4)} F1 ${s.f1.toFixed(4)}${s.mergedF1 !== undefined ? ` (merged ${s.mergedF1.toFixed(4)})` : ''}${fine ? `; fine-tuned F1 ${fine.f1.toFixed(4)}` : ''}${own ? `; in its convention P ${own.precision.toFixed(4)} R ${own.recall.toFixed(4)} F1 ${own.f1.toFixed(4)}` : ''}\n`);
      }
    }
    result.model.info.metrics = { ...result.model.info.metrics, test, stages: result.stages };
    const out = (values.out as string | undefined) ?? path.join(packageRoot(), 'out', 'models', name.replace(/[^\w.+-]+/g, '-'));
    result.model.save(out);
    for (const [c, m] of Object.entries(result.fineTuned)) {
      saveModel(m, path.join(out, `${c}+fine-tuned`));
      m.dispose();
    }
    process.stdout.write(`written to ${out}\n`);
    result.model.dispose();
    return 0;
  },
};
