/**
 * bench:multitask — per corpus, test F1 of single-task training against multi-task training with per-corpus
 * heads (MT-BERT refinement), the same then fine-tuned per corpus, hierarchical sharing at slicing rates
 * 0.25/0.5/0.75/1 (MTL-LS) and the unified tagger (disjoint evaluation; merged scores in the JSON too).
 * Writes docs/results/multitask.{json,md}.
 *
 *   npm run bench:multitask                  # quick mode (see MODES)
 *   npm run bench:multitask -- --mode full   # every sentence, early stopping, whole test splits
 *   npm run bench:multitask -- --seed 2      # another sample: other subsets and initialisation (multitask-seed2.*)
 *
 * All settings train with the same multi-task trainer (a single-task run is a one-corpus run), the same
 * options and seed. Units of work run in child processes, `--jobs` at a time (one core each); hierarchical
 * sharing first trains a fully shared 4-layer model once ("hierarchical-base"), and each slicing rate starts
 * from it. Results land in out/multitask/<mode>-<hash>/<unit>.json, so an interrupted run resumes.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { corporaRoot, listCorpora } from '../training/data/corpora';
import { ensureEmbeddings } from '../training/embeddings/cache';
import { EmbeddingTable } from '../training/embeddings/store';
import { initBackend } from '../training/engine/backend';
import { writeFileAtomic } from '../training/io/atomic';
import { cacheDir, packageRoot } from '../training/io/paths';
import { testSubset } from '../training/meta/fewshot-eval';
import { CorpusScores, scoreCorpus } from '../training/multitask/evaluate';
import { viewNames } from '../training/multitask/mtl-model';
import { MultiTaskCorpus, MultiTaskOptions, MultiTaskStart, trainMultiTask, unifiedCorpora } from '../training/multitask/mtl-train';
import { viewOf } from '../training/multitask/sharing';
import { UNIFIED_TYPE_MAPS } from '../training/multitask/type-map';
import { disposeCheckpoint, loadCheckpoint, saveCheckpoint } from '../training/train/checkpoint';
import { loadCorpora, loadEvaluationSplit } from '../training/train/training-data';
import { CharVocab } from '../training/model/vocab';

interface Settings {
  mode: 'quick' | 'full';
  /** Training sentences per corpus (0 = all), devel sentences per corpus for early stopping, test sentences scored. */
  trainLimit: number;
  develLimit: number;
  testLimit: number;
  epochs: number;
  /** Epochs of the fully shared first stage of hierarchical sharing, and of the second (sliced) stage. */
  hierarchicalBaseEpochs: number;
  hierarchicalEpochs: number;
  fineTuneEpochs: number;
  fineTuneLr: number;
  patience: number;
  /** BiLSTM layers of the hierarchical models (4 gives slicing rates in quarters); other settings use 1. */
  hierarchicalLayers: number;
  seed: number;
}

// Quick mode fits in well under an hour on 2 cores (measured: see docs/results/multitask.md). Fine-tuning gets a
// new head, so it needs enough steps for that head to learn; its rate is half the multi-task one.
const MODES: Record<Settings['mode'], Settings> = {
  quick: { mode: 'quick', trainLimit: 400, develLimit: 100, testLimit: 500, epochs: 8, hierarchicalBaseEpochs: 5, hierarchicalEpochs: 3, fineTuneEpochs: 6, fineTuneLr: 1e-3, patience: 3, hierarchicalLayers: 4, seed: 1 },
  full: { mode: 'full', trainLimit: 0, develLimit: 0, testLimit: 0, epochs: 15, hierarchicalBaseEpochs: 15, hierarchicalEpochs: 8, fineTuneEpochs: 5, fineTuneLr: 1e-3, patience: 3, hierarchicalLayers: 4, seed: 1 },
};

const RATES = [0.25, 0.5, 0.75, 1];
type Scores = Record<string, Record<string, CorpusScores>>;

interface Unit {
  name: string;
  after: string[];
}

const UNITS: Unit[] = [
  { name: 'single', after: [] },
  { name: 'hierarchical-base', after: [] },
  { name: 'mtl', after: [] },
  { name: 'unified', after: [] },
  ...RATES.map((r) => ({ name: `hierarchical-${r}`, after: ['hierarchical-base'] })),
];

function unitDir(s: Settings): string {
  const key = createHash('sha256').update(JSON.stringify(s)).digest('hex').slice(0, 10);
  return path.join(packageRoot(), 'out', 'multitask', `${s.mode}-${key}`);
}

interface Loaded {
  corpora: MultiTaskCorpus[];
  tests: Record<string, { sentences: MultiTaskCorpus['train']; types: string[] }>;
}

function load(s: Settings, names: string[]): Loaded {
  const root = corporaRoot();
  const corpora = loadCorpora(root, names).map((c) => ({
    ...c,
    train: s.trainLimit > 0 ? testSubset(c.train, s.trainLimit, s.seed) : c.train,
    devel: s.develLimit > 0 ? testSubset(c.devel, s.develLimit, s.seed) : c.devel,
  }));
  const tests = Object.fromEntries(names.map((n) => {
    const t = loadEvaluationSplit(root, n, 'test');
    return [n, { sentences: testSubset(t.sentences, s.testLimit, s.seed), types: t.types }];
  }));
  return { corpora, tests };
}

async function runUnit(unit: string, s: Settings, names: string[], words: EmbeddingTable): Promise<void> {
  const { corpora, tests } = load(s, names);
  const dir = unitDir(s);
  const base: Partial<MultiTaskOptions> = { epochs: s.epochs, patience: s.patience, seed: s.seed, layers: 1 };
  const log = (msg: string) => process.stderr.write(`[${unit}] ${msg}\n`);
  const hooks = (label: string) => ({
    checkpointDir: path.join(dir, 'checkpoints', label),
    onProgress: (p: { phase: string; epoch: number; develF1?: number; elapsedSeconds: number }) => {
      if (p.phase === 'eval' && p.develF1 !== undefined) log(`${label} epoch ${p.epoch}: mean devel F1 ${p.develF1.toFixed(4)} (${p.elapsedSeconds.toFixed(0)} s)`);
    },
  });
  const scores: Scores = {};
  const seconds: Record<string, number> = {};
  const started = Date.now();
  const score = (setting: string, model: Parameters<typeof scoreCorpus>[0], corpus: string, tagger?: Parameters<typeof scoreCorpus>[4]) => {
    (scores[setting] ??= {})[corpus] = scoreCorpus(model, corpus, tests[corpus].sentences, tests[corpus].types, tagger);
    log(`${setting} ${corpus}: test F1 ${scores[setting][corpus].f1.toFixed(4)}`);
  };
  const chars = CharVocab.build(corpora.flatMap((c) => c.train.flatMap((x) => x.tokens)), 2);

  if (unit === 'single') {
    for (const c of corpora) {
      const t0 = Date.now();
      const r = await trainMultiTask([c], words, { name: `single:${c.name}`, trainedOn: [c.name] }, { ...base, sharing: 'heads' }, hooks(`single-${c.name}`), { params: {}, chars });
      score('single', r.model, c.name);
      seconds[`single/${c.name}`] = (Date.now() - t0) / 1000;
      r.model.dispose();
    }
  } else if (unit === 'mtl') {
    const r = await trainMultiTask(corpora, words, { name: 'mtl', trainedOn: names }, { ...base, sharing: 'heads' }, hooks('mtl'), { params: {}, chars });
    seconds.mtl = (Date.now() - started) / 1000;
    for (const c of corpora) score('mtl', r.model, c.name);
    for (const c of corpora) {
      const t0 = Date.now();
      const view = viewOf(r.model.params, r.model.layout, c.name, viewNames(r.model.shape));
      const encoder = Object.fromEntries(Object.entries(view).filter(([n]) => n.startsWith('enc.')));
      const f = await trainMultiTask([c], words, { name: `mtl-finetune:${c.name}`, trainedOn: names }, { ...base, sharing: 'heads', epochs: s.fineTuneEpochs, lr: s.fineTuneLr }, hooks(`finetune-${c.name}`), { params: encoder, chars });
      score('mtl-finetune', f.model, c.name);
      seconds[`mtl-finetune/${c.name}`] = (Date.now() - t0) / 1000;
      f.model.dispose();
    }
    r.model.dispose();
  } else if (unit === 'unified') {
    const r = await trainMultiTask(unifiedCorpora(corpora, UNIFIED_TYPE_MAPS), words, { name: 'unified', trainedOn: names }, { ...base, sharing: 'unified' }, hooks('unified'), { params: {}, chars });
    seconds.unified = (Date.now() - started) / 1000;
    for (const c of corpora) score('unified', r.model, c.name);
    r.model.dispose();
  } else if (unit === 'hierarchical-base') {
    // Every layer shared, a head per corpus: the start of each slicing rate (MTL-XC in the paper's terms).
    const r = await trainMultiTask(corpora, words, { name: 'hierarchical-base', trainedOn: names }, { ...base, sharing: 'heads', layers: s.hierarchicalLayers, epochs: s.hierarchicalBaseEpochs }, hooks('hierarchical-base'), { params: {}, chars });
    seconds['hierarchical-base'] = (Date.now() - started) / 1000;
    saveCheckpoint(path.join(dir, 'hierarchical-base'), { kind: 'start', progress: {}, rngState: 0, optimizerSteps: 0, options: {}, tensors: { params: r.model.params } });
    r.model.dispose();
  } else if (unit.startsWith('hierarchical-')) {
    const rate = Number(unit.slice('hierarchical-'.length));
    const saved = loadCheckpoint<object>(path.join(dir, 'hierarchical-base'), 'start');
    const start: MultiTaskStart = { params: saved.tensors.params, chars };
    const r = await trainMultiTask(corpora, words, { name: unit, trainedOn: names }, { ...base, sharing: 'hierarchical', slicingRate: rate, layers: s.hierarchicalLayers, epochs: s.hierarchicalEpochs }, hooks(unit), start);
    disposeCheckpoint(saved);
    seconds[unit] = (Date.now() - started) / 1000;
    for (const c of corpora) score(unit, r.model, c.name);
    r.model.dispose();
  } else {
    throw new Error(`unknown unit ${unit}`);
  }
  writeFileAtomic(path.join(dir, `${unit}.json`), JSON.stringify({ unit, scores, seconds }, null, 1) + '\n');
}

/** Runs the units in child processes, `jobs` at once, each as soon as the units it needs are done. */
async function schedule(units: Unit[], jobs: number, spawn: (u: string) => Promise<number | null>, done: (u: string) => boolean): Promise<void> {
  const pending = units.filter((u) => !done(u.name));
  const finished = new Set(units.filter((u) => done(u.name)).map((u) => u.name));
  const running = new Set<Promise<void>>();
  const failures: string[] = [];
  while (pending.length > 0 || running.size > 0) {
    const ready = pending.findIndex((u) => u.after.every((a) => finished.has(a)));
    if (ready >= 0 && running.size < jobs) {
      const [u] = pending.splice(ready, 1);
      const p: Promise<void> = spawn(u.name).then((code) => {
        running.delete(p);
        if (code === 0) finished.add(u.name);
        else failures.push(`${u.name} (exit ${code})`);
      });
      running.add(p);
      continue;
    }
    if (running.size === 0) throw new Error(`units that cannot run: ${pending.map((u) => u.name).join(', ')}; failed: ${failures.join(', ')}`);
    await Promise.race(running);
  }
  if (failures.length) throw new Error(`units failed: ${failures.join(', ')}`);
}

function report(s: Settings, names: string[], dir: string, wallSeconds: number, command: string): void {
  const settings = ['single', 'mtl', 'mtl-finetune', ...RATES.map((r) => `hierarchical-${r}`), 'unified'];
  const merged: Scores = {};
  const seconds: Record<string, number> = {};
  for (const u of UNITS) {
    const file = path.join(dir, `${u.name}.json`);
    if (!fs.existsSync(file)) continue;
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as { scores: Scores; seconds: Record<string, number> };
    Object.assign(merged, r.scores);
    Object.assign(seconds, r.seconds);
  }
  const results = Object.fromEntries(settings.filter((k) => merged[k]).map((k) => [k, Object.fromEntries(names.map((c) => [c, Number((merged[k][c]?.f1 ?? NaN).toFixed(4))]))]));
  const json = {
    mode: s.mode,
    results,
    merged_f1_unified: merged.unified ? Object.fromEntries(names.map((c) => [c, Number((merged.unified[c]?.mergedF1 ?? NaN).toFixed(4))])) : undefined,
    details: merged,
    seconds,
    settings: s,
    wall_seconds: Math.round(wallSeconds),
    command,
    date: new Date().toISOString(),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, wasm backend`,
  };
  const resultsDir = path.join(packageRoot(), 'docs', 'results');
  // Another seed is a second sample of the same benchmark (other subsets, other initialisation), kept beside the first.
  const stem = s.seed === MODES[s.mode].seed ? 'multitask' : `multitask-seed${s.seed}`;
  writeFileAtomic(path.join(resultsDir, `${stem}.json`), JSON.stringify(json, null, 1) + '\n');
  const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '' : (100 * x).toFixed(1));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const secondsOf = (k: string) => Object.entries(seconds).filter(([n]) => n === k || n.startsWith(`${k}/`)).reduce((a, [, v]) => a + v, 0) + (k.startsWith('hierarchical-') ? (seconds['hierarchical-base'] ?? 0) : 0) + (k === 'mtl-finetune' ? (seconds.mtl ?? 0) : 0);
  const missing = settings.filter((k) => !results[k]);
  const lines = [
    '# Multi-task learning: single-task vs shared encoders (test F1, disjoint evaluation)',
    '',
    ...(missing.length ? [`**Partial run**: no results yet for ${missing.join(', ')} (their units did not finish).`, ''] : []),
    `Written by \`${command}\` on ${json.date.slice(0, 10)} (${json.machine}); wall time ${(wallSeconds / 60).toFixed(1)} min.`,
    '',
    `Mode **${s.mode}**: ${s.trainLimit > 0 ? `${s.trainLimit} training sentences per corpus (fixed random subset)` : 'every training sentence'}, ${s.develLimit > 0 ? `${s.develLimit}` : 'all'} devel sentences per corpus for early stopping (mean devel F1 over corpora), ${s.testLimit > 0 ? `${s.testLimit} test sentences per corpus (fixed random subset)` : 'whole test splits'}; up to ${s.epochs} epochs (patience ${s.patience}, the best devel epoch kept), batch 10, AdamW 2e-3, dropout 0.5, seed ${s.seed}, 1-layer BiLSTM (128 per direction) except hierarchical: ${s.hierarchicalLayers} residual layers (128 per direction), first every layer shared for ${s.hierarchicalBaseEpochs} epochs, then the lower k of ${s.hierarchicalLayers} shared for ${s.hierarchicalEpochs} more (upper layers and CRF per corpus, starting from the shared weights). mtl-finetune: a new head per corpus on a copy of the mtl encoder, ${s.fineTuneEpochs} epochs at ${s.fineTuneLr}. Unified: one CRF over Disease, Chemical, Gene, Cell, Species (JNLPBA renamed by training/config/unified-types.json; scored on the renamed types), partial-label loss.`,
    '',
    `| setting | ${names.join(' | ')} | mean | train s |`,
    `| --- | ${names.map(() => '---:').join(' | ')} | ---: | ---: |`,
    ...settings.filter((k) => results[k]).map((k) => `| ${k} | ${names.map((c) => pct(results[k][c])).join(' | ')} | ${pct(mean(names.map((c) => results[k][c])))} | ${Math.round(secondsOf(k))} |`),
  ];
  if (json.merged_f1_unified) lines.push(`| unified (merged) | ${names.map((c) => pct(json.merged_f1_unified?.[c])).join(' | ')} | ${pct(mean(names.map((c) => json.merged_f1_unified?.[c] ?? 0)))} | |`);
  lines.push('', 'F1 in %. "train s" sums the training time of the setting (hierarchical: with its shared first stage; mtl-finetune: with the mtl run it starts from).', '');
  writeFileAtomic(path.join(resultsDir, `${stem}.md`), lines.join('\n'));
  process.stdout.write(lines.join('\n') + '\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'quick' },
      corpora: { type: 'string' },
      jobs: { type: 'string', default: '2' },
      unit: { type: 'string' },
      'train-limit': { type: 'string' },
      seed: { type: 'string' },
      epochs: { type: 'string' },
      fresh: { type: 'boolean', default: false },
      'report-only': { type: 'boolean', default: false },
      'wall-minutes': { type: 'string' },
    },
  });
  const s: Settings = { ...MODES[values.mode as Settings['mode']] };
  if (!MODES[values.mode as Settings['mode']]) throw new Error('--mode must be quick or full');
  if (values['train-limit']) s.trainLimit = Number(values['train-limit']);
  if (values.epochs) s.epochs = Number(values.epochs);
  if (values.seed) s.seed = Number(values.seed);
  const root = corporaRoot();
  const names = values.corpora ? values.corpora.split(',') : listCorpora(root);
  const embeddingsFile = await ensureEmbeddings({ corporaRoot: root, cacheDir: path.join(cacheDir(), 'embeddings') });
  if (values.unit) {
    await initBackend('wasm');
    await runUnit(values.unit, s, names, EmbeddingTable.load(embeddingsFile));
    return;
  }
  const dir = unitDir(s);
  if (values['report-only']) {
    report(s, names, dir, Number(values['wall-minutes'] ?? 0) * 60, `npm run bench:multitask -- ${process.argv.slice(2).join(' ')}`);
    return;
  }
  if (values.fresh) fs.rmSync(dir, { recursive: true, force: true });
  const args = process.argv.slice(2).filter((a) => a !== '--fresh');
  const started = Date.now();
  await schedule(
    UNITS,
    Math.max(1, Number(values.jobs)),
    (u) =>
      new Promise((resolve) => {
        const child = fork(__filename, [...args, '--unit', u], { execArgv: process.execArgv, stdio: 'inherit' });
        child.on('exit', resolve);
      }),
    (u) => fs.existsSync(path.join(dir, `${u}.json`)),
  );
  report(s, names, dir, (Date.now() - started) / 1000, `npm run bench:multitask${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
