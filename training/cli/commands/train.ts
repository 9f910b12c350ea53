import * as path from 'node:path';
import { evaluateModel } from '../../eval/evaluate-model';
import { saveModel } from '../../model/model-io';
import { packageRoot } from '../../io/paths';
import { DEFAULT_SUPERVISED, SupervisedOptions, trainSupervised } from '../../train/supervised';
import { loadEvaluationSplit, trainingDataOf } from '../../train/training-data';
import { Command, intOption, numberOption, UsageError } from '../command';
import { CHECKPOINT_OPTIONS, checkpointHooks, CORPUS_OPTIONS, WORD_VECTOR_OPTIONS, corpusList, trainingSetup, WORKER_OPTIONS, workersOption, stopSignals, schemeOption } from './shared';

export const trainCommand: Command = {
  name: 'train',
  summary: 'Train a BiLSTM-CNN-CRF tagger on one or more corpora (train split; early stopping on devel), save it and report test scores.',
  options: {
    ...CORPUS_OPTIONS,
    out: { type: 'string', description: 'model directory to write (default out/models/<corpora>)', valueName: 'DIR' },
    epochs: { type: 'string', description: 'maximum epochs', default: String(DEFAULT_SUPERVISED.epochs), valueName: 'N' },
    'batch-size': { type: 'string', description: 'sentences per mini-batch', default: String(DEFAULT_SUPERVISED.batchSize), valueName: 'N' },
    lr: { type: 'string', description: 'AdamW learning rate (linear schedule)', default: String(DEFAULT_SUPERVISED.lr), valueName: 'X' },
    'weight-decay': { type: 'string', description: 'AdamW decoupled weight decay', default: String(DEFAULT_SUPERVISED.weightDecay), valueName: 'X' },
    clip: { type: 'string', description: 'gradient clipping (global norm)', default: String(DEFAULT_SUPERVISED.clipNorm), valueName: 'X' },
    dropout: { type: 'string', description: 'dropout rate', default: String(DEFAULT_SUPERVISED.dropout), valueName: 'P' },
    'word-dropout': { type: 'string', description: 'probability of zeroing a word vector in training (the char-CNN still sees the word)', default: String(DEFAULT_SUPERVISED.wordDropout), valueName: 'P' },
    'weight-average': { type: 'string', description: 'decay of an exponential moving average of the weights, used for devel evaluation and the saved model (e.g. 0.999; 0 = none)', default: String(DEFAULT_SUPERVISED.weightAverage), valueName: 'D' },
    scheme: { type: 'string', description: 'how the CRF spells entities: iob2 | bioes (corpora and output stay IOB2)', default: String(DEFAULT_SUPERVISED.scheme), valueName: 'S' },
    patience: { type: 'string', description: 'epochs without a better devel F1 before stopping', default: String(DEFAULT_SUPERVISED.patience), valueName: 'N' },
    hidden: { type: 'string', description: 'LSTM units per direction', default: String(DEFAULT_SUPERVISED.hidden), valueName: 'N' },
    layers: { type: 'string', description: 'stacked BiLSTM layers (each above the first adds its input to its output)', default: String(DEFAULT_SUPERVISED.layers), valueName: 'N' },
    seed: { type: 'string', description: 'random seed', default: String(DEFAULT_SUPERVISED.seed), valueName: 'N' },
    'max-minutes': { type: 'string', description: 'stop after this many minutes, keeping the best epoch (0 = no limit)', default: '0', valueName: 'M' },
    'max-train-sentences': { type: 'string', description: 'use only the first N training sentences of each corpus (0 = all)', default: '0', valueName: 'N' },
    'no-test': { type: 'boolean', description: 'skip the test-split evaluation' },
    ...WORD_VECTOR_OPTIONS,
    ...CHECKPOINT_OPTIONS,
    ...WORKER_OPTIONS,
  },
  async run(values) {
    const workers = workersOption(values);
    const names = corpusList(values.corpus);
    if (names.length === 0) throw new UsageError('train needs --corpus NAME');
    const { root, corpora, words, progress } = await trainingSetup(values, names);
    const options: Partial<SupervisedOptions> = {
      epochs: intOption(values, 'epochs'),
      batchSize: intOption(values, 'batch-size'),
      lr: numberOption(values, 'lr'),
      weightDecay: numberOption(values, 'weight-decay'),
      clipNorm: numberOption(values, 'clip'),
      dropout: numberOption(values, 'dropout'),
      wordDropout: numberOption(values, 'word-dropout'),
      weightAverage: numberOption(values, 'weight-average'),
      scheme: schemeOption(values),
      patience: intOption(values, 'patience'),
      hidden: intOption(values, 'hidden'),
      layers: intOption(values, 'layers'),
      seed: intOption(values, 'seed'),
      maxMinutes: numberOption(values, 'max-minutes'),
    };
    const name = names.join('+');
    const stop = stopSignals(progress);
    const result = await trainSupervised(
      trainingDataOf(corpora),
      words,
      { name, trainedOn: names.map((n) => `${n}/train`), command: `metabioner train ${process.argv.slice(3).join(' ')}`.trim() },
      Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
      {
        signal: stop.signal,
        workers,
        ...checkpointHooks(values),
        onProgress: (p) => {
          if (p.phase === 'train') {
            progress.update(p.step / p.totalSteps, `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(3)} ${Math.round(p.tokensPerSecond)} tok/s${p.bestDevelF1 !== undefined ? ` best devel F1 ${p.bestDevelF1.toFixed(4)}` : ''}`);
          } else if (p.phase === 'eval' && p.develF1 !== undefined) {
            progress.log(`epoch ${p.epoch}: loss ${p.loss.toFixed(4)}  devel F1 ${p.develF1.toFixed(4)}  (best ${p.bestDevelF1?.toFixed(4)})  ${p.elapsedSeconds.toFixed(0)} s`);
          }
        },
      },
    );
    stop.dispose();
    progress.done();
    if (stop.paused()) {
      result.model.dispose();
      process.stderr.write(`paused; the checkpoint is in ${String(values.checkpoint ?? '(none: --checkpoint was not given)')}\n`);
      return 0;
    }
    process.stderr.write(`stopped by ${result.stoppedBy}; best epoch ${result.bestEpoch}, devel F1 ${result.bestDevelF1.toFixed(4)}, ${result.trainSeconds.toFixed(0)} s\n`);
    const test: Record<string, { precision: number; recall: number; f1: number }> = {};
    if (!values['no-test']) {
      for (const c of corpora) {
        const { sentences, types } = loadEvaluationSplit(root, c.name, 'test');
        const r = evaluateModel(result.model, sentences, types);
        test[c.name] = { precision: r.precision, recall: r.recall, f1: r.f1 };
        process.stdout.write(`${c.name} test: precision ${r.precision.toFixed(4)} recall ${r.recall.toFixed(4)} F1 ${r.f1.toFixed(4)}\n`);
      }
    }
    result.model.info.metrics = { ...result.model.info.metrics, test, history: result.history };
    const out = (values.out as string | undefined) ?? path.join(packageRoot(), 'out', 'models', name);
    saveModel(result.model, out);
    process.stdout.write(`model written to ${out}\n`);
    result.model.dispose();
    return 0;
  },
};
