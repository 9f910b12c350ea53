import * as fs from 'node:fs';
import * as path from 'node:path';
import { readConll } from '../../data/conll';
import { listCorpora, loadSplit } from '../../data/corpora';
import { evaluateModel } from '../../eval/evaluate-model';
import { packageRoot } from '../../io/paths';
import { writeFileAtomic } from '../../io/atomic';
import { adaptFewShot, DEFAULT_ADAPT, DEFAULT_EXTEND } from '../../meta/adapt';
import { testSubset } from '../../meta/fewshot-eval';
import { fewShotEvalOnWorkers, InitSource } from '../../parallel/fewshot-pool';
import { CharVocab } from '../../model/vocab';
import { DEFAULT_META, META_METHODS, MetaMethod, metaTrain } from '../../meta/meta-train';
import { DOMAINS, metaTrainingCorpora } from '../../meta/tasks';
import { loadModel, saveModel } from '../../model/model-io';
import { loadEvaluationSplit } from '../../train/training-data';
import { Command, intOption, numberOption, startBackend, UsageError } from '../command';
import { ProgressLine } from '../progress';
import { CHECKPOINT_OPTIONS, checkpointHooks, CORPUS_OPTIONS, corporaRootOption, loadWordVectors, WORD_VECTOR_OPTIONS, WORKER_OPTIONS, workersOption, wordVectorsFile } from './shared';

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
    init: { type: 'string', description: 'start from this model\'s encoder (e.g. a unified mtl-train model that never saw the target domain: mtl+metabioner) instead of a fresh one; its sizes replace --hidden', valueName: 'DIR' },
    out: { type: 'string', description: 'model directory (default out/models/meta-<method>-<target>-k<K>)', valueName: 'DIR' },
    'hardness-log': { type: 'string', description: 'append one JSON line per meta-iteration (tasks, query entities, losses, γ); bench/fewshot-hardness.ts draws it', valueName: 'FILE' },
    'corpora-root': CORPUS_OPTIONS['corpora-root'],
    ...WORD_VECTOR_OPTIONS,
    ...CHECKPOINT_OPTIONS,
    ...WORKER_OPTIONS,
  },
  async run(values) {
    const workers = workersOption(values);
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
    const init = values.init ? loadModel(values.init as string) : undefined;
    if (init) {
      // Leave-one-domain-out: the start model must not have seen the target domain either.
      const seen = [...new Set(init.info.trainedOn.map((e) => e.split('/')[0]))].filter((c) => DOMAINS[target].includes(c));
      if (seen.length) throw new UsageError(`--init ${values.init as string} was trained on ${seen.join(', ')}, of the target domain ${target}`);
    }
    const words = init ? init.words : await loadWordVectors(values, root, progress);
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
      workers,
      ...checkpointHooks(values),
      onIteration: (record, p) => {
        if (log) fs.appendFileSync(log, JSON.stringify(record) + '\n');
        const loss = record.tasks.reduce((a, t) => a + t.labelLoss, 0) / record.tasks.length;
        progress.update(p.iteration / p.iterations, `iteration ${p.iteration}/${p.iterations} query loss ${loss.toFixed(3)} γθ ${record.weights.theta.map((g) => g.toFixed(2)).join(' ')}`);
      },
    }, init ? { model: init } : undefined);
    init?.dispose();
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
  summary: 'Few-shot adaptation on the support sentences (CoNLL file): the model keeps its types and learns those of the support (extend), or gets a new decoder over the support types only (replace, the paper\'s meta-testing).',
  options: {
    model: { type: 'string', description: 'model to adapt (e.g. from meta-train)', valueName: 'DIR' },
    support: { type: 'string', description: 'annotated support sentences, TOKEN<TAB>TAG per line', valueName: 'FILE' },
    mode: { type: 'string', description: 'extend (keep every type, learn the support types in the decoder) or replace (new decoder, encoder trained too)', default: 'extend', valueName: 'M' },
    epochs: { type: 'string', description: `passes over the support sentences (default ${DEFAULT_EXTEND.epochs} extend, ${DEFAULT_ADAPT.epochs} replace)`, valueName: 'N' },
    lr: { type: 'string', description: `AdamW learning rate (default ${DEFAULT_EXTEND.lr} extend, ${DEFAULT_ADAPT.lr} replace)`, valueName: 'X' },
    out: { type: 'string', description: 'adapted model directory', valueName: 'DIR' },
    'eval-corpus': { type: 'string', description: 'score the adapted model on this corpus test split', valueName: 'C' },
    'corpora-root': CORPUS_OPTIONS['corpora-root'],
  },
  async run(values) {
    if (!values.model || !values.support || !values.out) throw new UsageError('adapt needs --model DIR --support FILE --out DIR');
    const mode = values.mode as string;
    if (mode !== 'extend' && mode !== 'replace') throw new UsageError('--mode must be extend or replace');
    await startBackend(values);
    const support = readConll(values.support as string);
    const from = loadModel(values.model as string);
    const base = mode === 'extend' ? DEFAULT_EXTEND : DEFAULT_ADAPT;
    const adapted = adaptFewShot(from, support, { ...base, epochs: intOption(values, 'epochs') ?? base.epochs, lr: numberOption(values, 'lr') ?? base.lr });
    adapted.info.command = `metabioner adapt ${process.argv.slice(3).join(' ')}`.trim();
    saveModel(adapted, values.out as string);
    process.stdout.write(`adapted (${mode}) on ${support.length} sentences: types ${adapted.types.join(', ')}; written to ${values.out as string}\n`);
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

export const fewshotEvalCommand: Command = {
  name: 'fewshot-eval',
  summary: 'Meta-testing: adapt a model (or a fresh one, --scratch) to N sampled support sets of K sentences of a corpus and score each on its test split.',
  options: {
    model: { type: 'string', description: 'initialisation to adapt (e.g. from meta-train)', valueName: 'DIR' },
    scratch: { type: 'boolean', description: 'start from a freshly initialised tagger instead (the no-meta-training baseline)' },
    corpus: { type: 'string', description: 'target corpus (support from its train split, scores on its test split)', valueName: 'C' },
    k: { type: 'string', description: 'support sizes, comma-separated', default: '5,10,20,50,100', valueName: 'K[,K]' },
    samples: { type: 'string', description: 'support sets per K', default: '20', valueName: 'N' },
    seed: { type: 'string', description: 'seed of the support samples (same seed = same sets for every model)', default: '1', valueName: 'N' },
    'test-limit': { type: 'string', description: 'score a fixed random subset of this many test sentences (0 = all)', default: '0', valueName: 'N' },
    epochs: { type: 'string', description: 'adaptation epochs', default: String(DEFAULT_ADAPT.epochs), valueName: 'N' },
    'max-steps': { type: 'string', description: 'at most this many adaptation steps (0 = no limit)', default: '300', valueName: 'N' },
    lr: { type: 'string', description: 'adaptation learning rate', default: '0.005', valueName: 'X' },
    hidden: { type: 'string', description: '--scratch: LSTM units per direction', default: '128', valueName: 'N' },
    json: { type: 'string', description: 'also write the scores (every sample) to this file', valueName: 'FILE' },
    'corpora-root': CORPUS_OPTIONS['corpora-root'],
    ...WORD_VECTOR_OPTIONS,
    ...WORKER_OPTIONS,
  },
  async run(values) {
    const workers = workersOption(values);
    const corpus = values.corpus as string | undefined;
    if (!corpus || (!values.model && !values.scratch)) throw new UsageError('fewshot-eval needs --corpus C and --model DIR or --scratch');
    const root = corporaRootOption(values);
    await startBackend(values);
    const train = loadSplit(root, corpus, 'train');
    const test = loadEvaluationSplit(root, corpus, 'test');
    const seed = intOption(values, 'seed') ?? 1;
    const source: InitSource = values.model
      ? { kind: 'model', dir: values.model as string }
      : { kind: 'scratch', wordsFile: await wordVectorsFile(values, root, new ProgressLine()), chars: CharVocab.build(train.flatMap((s) => s.tokens), 2).chars, hidden: intOption(values, 'hidden') ?? 128, layers: 1, seed };
    const ks = String(values.k).split(',').map(Number);
    if (ks.some((k) => !Number.isInteger(k) || k < 1)) throw new UsageError('--k takes positive integers, e.g. 5,10');
    const target = { corpus, train, test: testSubset(test.sentences, intOption(values, 'test-limit') ?? 0, seed), types: test.types };
    // Every (K, sample) unit is independent: they run on the workers, with the scores one thread would give.
    const scores = await fewShotEvalOnWorkers(
      source,
      target,
      { ks, samples: intOption(values, 'samples') ?? 20, seed, adapt: { epochs: intOption(values, 'epochs'), maxSteps: intOption(values, 'max-steps'), lr: numberOption(values, 'lr') } },
      workers,
      (r) => process.stderr.write(`K=${r.k} sample ${r.sample + 1}: F1 ${r.f1.toFixed(4)}\n`),
    );
    for (const k of ks) process.stdout.write(`${corpus} K=${k}: mean F1 ${scores.mean[k].toFixed(4)} over ${scores.f1[k].length} samples\n`);
    if (values.json) writeFileAtomic(values.json as string, JSON.stringify({ corpus, model: values.model ?? 'scratch', ...scores }, null, 1) + '\n');
    return 0;
  },
};
