import * as fs from 'node:fs';
import * as path from 'node:path';
import { readConll } from '../../data/conll';
import { listCorpora, loadSplit } from '../../data/corpora';
import { evaluateModel } from '../../eval/evaluate-model';
import { packageRoot } from '../../io/paths';
import { adaptFewShot, DEFAULT_ADAPT } from '../../meta/adapt';
import { DEFAULT_META, META_METHODS, MetaMethod, metaTrain } from '../../meta/meta-train';
import { DOMAINS, metaTrainingCorpora } from '../../meta/tasks';
import { loadModel, saveModel } from '../../model/model-io';
import { loadEvaluationSplit } from '../../train/training-data';
import { Command, intOption, numberOption, startBackend, UsageError } from '../command';
import { ProgressLine } from '../progress';
import { CHECKPOINT_OPTIONS, checkpointHooks, CORPUS_OPTIONS, corporaRootOption, loadWordVectors, WORD_VECTOR_OPTIONS } from './shared';

export const metaTrainCommand: Command = {
  name: 'meta-train',
  summary: 'Meta-train an encoder on few-shot tasks from every domain but the target (MetaBioNER and its baselines).',
  options: {
    target: { type: 'string', description: `held-out domain: ${Object.keys(DOMAINS).join(', ')}`, valueName: 'DOMAIN' },
    method: { type: 'string', description: META_METHODS.join(', '), default: DEFAULT_META.method, valueName: 'M' },
    k: { type: 'string', description: 'sentences per support and per query set', default: String(DEFAULT_META.k), valueName: 'K' },
    iterations: { type: 'string', description: 'meta-iterations', default: String(DEFAULT_META.iterations), valueName: 'N' },
    tasks: { type: 'string', description: 'tasks per meta-iteration', default: String(DEFAULT_META.tasksPerIteration), valueName: 'N' },
    'inner-steps': { type: 'string', description: 'adaptation steps per task', default: String(DEFAULT_META.innerSteps), valueName: 'N' },
    'inner-lr': { type: 'string', description: 'β, SGD rate of the inner steps', default: String(DEFAULT_META.innerLr), valueName: 'X' },
    'outer-lr': { type: 'string', description: 'α, AdamW rate of the outer step (linear schedule)', default: String(DEFAULT_META.outerLr), valueName: 'X' },
    lambda: { type: 'string', description: 'weight of the critic loss L_cls', default: String(DEFAULT_META.lambda), valueName: 'X' },
    dropout: { type: 'string', description: 'dropout rate', default: String(DEFAULT_META.dropout), valueName: 'P' },
    hidden: { type: 'string', description: 'LSTM units per direction', default: String(DEFAULT_META.hidden), valueName: 'N' },
    seed: { type: 'string', description: 'random seed', default: String(DEFAULT_META.seed), valueName: 'N' },
    out: { type: 'string', description: 'model directory (default out/models/meta-<method>-<target>-k<K>)', valueName: 'DIR' },
    'hardness-log': { type: 'string', description: 'append one JSON line per meta-iteration (tasks, losses, γ)', valueName: 'FILE' },
    'corpora-root': CORPUS_OPTIONS['corpora-root'],
    ...WORD_VECTOR_OPTIONS,
    ...CHECKPOINT_OPTIONS,
  },
  async run(values) {
    const target = values.target as string | undefined;
    if (!target || !DOMAINS[target]) throw new UsageError(`--target must be one of ${Object.keys(DOMAINS).join(', ')}`);
    const method = values.method as MetaMethod;
    if (!META_METHODS.includes(method)) throw new UsageError(`--method must be one of ${META_METHODS.join(', ')}`);
    const root = corporaRootOption(values);
    await startBackend(values);
    const progress = new ProgressLine();
    const sources = metaTrainingCorpora(target, listCorpora(root));
    if (sources.length === 0) throw new UsageError(`no source corpora for target ${target} in ${root}`);
    const corpora = Object.fromEntries(sources.map((c) => [c, loadSplit(root, c, 'train')]));
    const words = await loadWordVectors(values, root, progress);
    const log = values['hardness-log'] as string | undefined;
    const options = Object.fromEntries(
      Object.entries({
        method,
        k: intOption(values, 'k'),
        iterations: intOption(values, 'iterations'),
        tasksPerIteration: intOption(values, 'tasks'),
        innerSteps: intOption(values, 'inner-steps'),
        innerLr: numberOption(values, 'inner-lr'),
        outerLr: numberOption(values, 'outer-lr'),
        lambda: numberOption(values, 'lambda'),
        dropout: numberOption(values, 'dropout'),
        hidden: intOption(values, 'hidden'),
        seed: intOption(values, 'seed'),
      }).filter(([, v]) => v !== undefined),
    );
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    const { model, iterations, cancelled } = await metaTrain(corpora, words, options, {
      signal: controller.signal,
      ...checkpointHooks(values),
      onIteration: (record, p) => {
        if (log) fs.appendFileSync(log, JSON.stringify(record) + '\n');
        const loss = record.tasks.reduce((a, t) => a + t.labelLoss, 0) / record.tasks.length;
        progress.update(p.iteration / p.iterations, `iteration ${p.iteration}/${p.iterations} query loss ${loss.toFixed(3)} γθ ${record.weights.theta.map((g) => g.toFixed(2)).join(' ')}`);
      },
    });
    progress.done();
    model.info.command = `metabioner meta-train ${process.argv.slice(3).join(' ')}`.trim();
    const out = (values.out as string | undefined) ?? path.join(packageRoot(), 'out', 'models', `meta-${method}-${target.replace(/\W+/g, '')}-k${model.info.hyper.k}`);
    saveModel(model, out);
    process.stdout.write(`${cancelled ? 'cancelled after' : 'finished'} ${iterations} iterations on ${sources.join(', ')}; model written to ${out}\n`);
    model.dispose();
    return 0;
  },
};

export const adaptCommand: Command = {
  name: 'adapt',
  summary: 'Few-shot adaptation: a new decoder for the entity types of the support sentences (CoNLL file) on a copy of the model encoder.',
  options: {
    model: { type: 'string', description: 'model to adapt (e.g. from meta-train)', valueName: 'DIR' },
    support: { type: 'string', description: 'annotated support sentences, TOKEN<TAB>TAG per line', valueName: 'FILE' },
    epochs: { type: 'string', description: 'passes over the support sentences', default: String(DEFAULT_ADAPT.epochs), valueName: 'N' },
    lr: { type: 'string', description: 'AdamW learning rate', default: String(DEFAULT_ADAPT.lr), valueName: 'X' },
    out: { type: 'string', description: 'adapted model directory', valueName: 'DIR' },
    'eval-corpus': { type: 'string', description: 'score the adapted model on this corpus test split', valueName: 'C' },
    'corpora-root': CORPUS_OPTIONS['corpora-root'],
  },
  async run(values) {
    if (!values.model || !values.support || !values.out) throw new UsageError('adapt needs --model DIR --support FILE --out DIR');
    await startBackend(values);
    const support = readConll(values.support as string);
    const from = loadModel(values.model as string);
    const adapted = adaptFewShot(from, support, { epochs: intOption(values, 'epochs'), lr: numberOption(values, 'lr') });
    adapted.info.command = `metabioner adapt ${process.argv.slice(3).join(' ')}`.trim();
    saveModel(adapted, values.out as string);
    process.stdout.write(`adapted to ${adapted.types.join(', ')} on ${support.length} sentences; written to ${values.out as string}\n`);
    const corpus = values['eval-corpus'] as string | undefined;
    if (corpus) {
      const { sentences, types } = loadEvaluationSplit(corporaRootOption(values), corpus, 'test');
      const r = evaluateModel(adapted, sentences, types.filter((t) => adapted.types.includes(t)));
      process.stdout.write(`${corpus} test: precision ${r.precision.toFixed(4)} recall ${r.recall.toFixed(4)} F1 ${r.f1.toFixed(4)}\n`);
    }
    from.dispose();
    adapted.dispose();
    return 0;
  },
};
