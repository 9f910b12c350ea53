/**
 * bench:fewshot — Table 3 of the MetaBioNER paper: leave-one-domain-out meta-training with each method, then
 * heterogeneous few-shot adaptation to every corpus of the held-out domain, K ∈ {5, 10, 20, 50, 100}, F1
 * averaged over sampled support sets. Writes docs/results/fewshot.{json,md}.
 *
 *   npm run bench:fewshot                      # quick mode (see MODES)
 *   npm run bench:fewshot -- --mode full       # the paper's protocol
 *   npm run bench:fewshot -- --targets Disease --methods metabioner,scratch --ks 5,10 --jobs 1
 *
 * Each target domain is one unit of work; `--jobs N` runs N units in child processes at once (one core each:
 * the wasm backend is single-threaded). A unit writes its scores to out/fewshot/<mode>-<settings hash>/<target>.json and keeps
 * its meta-trained models and checkpoints beside it, so an interrupted run picks up where it stopped.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { corporaRoot, listCorpora, loadSplit } from '../training/data/corpora';
import { ensureEmbeddings } from '../training/embeddings/cache';
import { EmbeddingTable } from '../training/embeddings/store';
import { initBackend } from '../training/engine/backend';
import { writeFileAtomic } from '../training/io/atomic';
import { cacheDir, packageRoot } from '../training/io/paths';
import { fewShotEval, scratchModel, testSubset } from '../training/meta/fewshot-eval';
import { META_METHODS, MetaMethod, metaTrain } from '../training/meta/meta-train';
import { DOMAINS, metaTrainingCorpora } from '../training/meta/tasks';
import { loadModel, saveModel } from '../training/model/model-io';
import type { NerModel } from '../training/model/ner-model';
import { CharVocab } from '../training/model/vocab';
import { loadEvaluationSplit } from '../training/train/training-data';

type Method = MetaMethod | 'scratch';
const METHODS: readonly Method[] = [...META_METHODS, 'scratch'];

interface Settings {
  mode: 'quick' | 'full';
  ks: number[];
  samples: number;
  /** Meta-iterations per meta-training run. */
  iterations: number;
  /** K of the meta-training tasks; 0 = the K being evaluated (one meta-training per K, as the paper does). */
  metaK: number;
  /** Test sentences scored per corpus (0 = the whole test split). */
  testLimit: number;
  seed: number;
  tasksPerIteration: number;
  innerSteps: number;
  innerLr: number;
  outerLr: number;
  adaptEpochs: number;
  adaptMaxSteps: number;
  adaptLr: number;
}

const MODES: Record<Settings['mode'], Settings> = {
  // One meta-training per (method, target) at K = 5 reused for every K, 80 meta-iterations with 2 inner steps,
  // 2 support samples per K, at most 50 adaptation steps, 250 test sentences per corpus: about an hour of
  // one core's time, split over 2 jobs.
  quick: { mode: 'quick', ks: [5, 10, 20, 50, 100], samples: 2, iterations: 80, metaK: 5, testLimit: 250, seed: 1, tasksPerIteration: 4, innerSteps: 2, innerLr: 0.01, outerLr: 1e-3, adaptEpochs: 30, adaptMaxSteps: 50, adaptLr: 5e-3 },
  // The paper's protocol: meta-training per K, 20 samples, whole test splits, 10000 iterations.
  full: { mode: 'full', ks: [5, 10, 20, 50, 100], samples: 20, iterations: 10000, metaK: 0, testLimit: 0, seed: 1, tasksPerIteration: 4, innerSteps: 3, innerLr: 0.01, outerLr: 1e-3, adaptEpochs: 30, adaptMaxSteps: 300, adaptLr: 5e-3 },
};

/** Table 3 of the paper (F1), MetaBioNER and MetaNER rows, for the side-by-side table. */
const PAPER: Record<string, Record<number, Record<string, number>>> = {
  metabioner: {
    5: { overall: 0.323 },
    10: { overall: 0.439 },
    20: { overall: 0.528 },
    50: { overall: 0.612 },
    100: { overall: 0.639 },
  },
  metaner: {
    5: { 'NCBI-disease': 0.2729, 'BC5CDR-disease': 0.2171, 'BC5CDR-chem': 0.5784, JNLPBA: 0.2212, BC2GM: 0.2175, LINNAEUS: 0.2443, S800: 0.1214, overall: 0.253 },
    10: { 'NCBI-disease': 0.333, 'BC5CDR-disease': 0.3688, 'BC5CDR-chem': 0.6659, JNLPBA: 0.336, BC2GM: 0.3374, LINNAEUS: 0.3265, S800: 0.3038, overall: 0.3735 },
    20: { 'NCBI-disease': 0.4612, 'BC5CDR-disease': 0.4722, 'BC5CDR-chem': 0.7301, JNLPBA: 0.4383, BC2GM: 0.4167, LINNAEUS: 0.3926, S800: 0.4952, overall: 0.463 },
    50: { 'NCBI-disease': 0.5731, 'BC5CDR-disease': 0.6106, 'BC5CDR-chem': 0.7478, JNLPBA: 0.5082, BC2GM: 0.5337, LINNAEUS: 0.5058, S800: 0.6125, overall: 0.5565 },
    100: { 'NCBI-disease': 0.6005, 'BC5CDR-disease': 0.6484, 'BC5CDR-chem': 0.7975, JNLPBA: 0.5852, BC2GM: 0.4993, LINNAEUS: 0.4747, S800: 0.6581, overall: 0.5811 },
  },
};

/** What one target-domain unit writes: per method, K and corpus, the F1 of every support sample. */
interface UnitResult {
  target: string;
  settings: Settings;
  corpora: string[];
  sources: string[];
  f1: Record<string, Record<number, Record<string, number[]>>>;
  seconds: { meta: Record<string, number>; eval: Record<string, number> };
}

function parse() {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'quick' },
      targets: { type: 'string' },
      methods: { type: 'string' },
      ks: { type: 'string' },
      samples: { type: 'string' },
      iterations: { type: 'string' },
      'meta-k': { type: 'string' },
      'test-limit': { type: 'string' },
      seed: { type: 'string' },
      'adapt-lr': { type: 'string' },
      jobs: { type: 'string', default: '2' },
      unit: { type: 'string' },
      fresh: { type: 'boolean', default: false },
      'report-only': { type: 'boolean', default: false },
      'wall-minutes': { type: 'string' },
    },
  });
  const mode = values.mode as Settings['mode'];
  if (!MODES[mode]) throw new Error(`--mode must be quick or full`);
  const s: Settings = { ...MODES[mode] };
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  if (values.ks) s.ks = values.ks.split(',').map(Number);
  s.samples = num(values.samples) ?? s.samples;
  s.iterations = num(values.iterations) ?? s.iterations;
  s.metaK = num(values['meta-k']) ?? s.metaK;
  s.testLimit = num(values['test-limit']) ?? s.testLimit;
  s.seed = num(values.seed) ?? s.seed;
  s.adaptLr = num(values['adapt-lr']) ?? s.adaptLr;
  const methods = (values.methods ? values.methods.split(',') : [...METHODS]) as Method[];
  for (const m of methods) if (!METHODS.includes(m)) throw new Error(`unknown method ${m}`);
  const targets = values.targets ? values.targets.split(',') : Object.keys(DOMAINS);
  return { settings: s, methods, targets, jobs: Number(values.jobs), unit: values.unit, fresh: values.fresh, reportOnly: values['report-only'], wallMinutes: Number(values['wall-minutes'] ?? 0) };
}

/** Runs with other settings (K lists aside) never share meta-trained models or scores. */
function unitDir(s: Settings): string {
  const key = createHash('sha256').update(JSON.stringify({ ...s, ks: undefined })).digest('hex').slice(0, 10);
  return path.join(packageRoot(), 'out', 'fewshot', `${s.mode}-${key}`);
}

function sameSettings(a: Settings, b: Settings): boolean {
  return JSON.stringify({ ...a, ks: undefined }) === JSON.stringify({ ...b, ks: undefined });
}

/** Meta-trains (or reloads) and evaluates every method for one held-out domain. */
async function runUnit(target: string, s: Settings, methods: Method[], words: EmbeddingTable): Promise<void> {
  const root = corporaRoot();
  const available = listCorpora(root);
  const sources = metaTrainingCorpora(target, available);
  const corpora = DOMAINS[target].filter((c) => available.includes(c));
  const file = path.join(unitDir(s), `${target}.json`);
  const previous = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as UnitResult) : undefined;
  const result: UnitResult = previous && sameSettings(previous.settings, s) ? previous : { target, settings: s, corpora, sources, f1: {}, seconds: { meta: {}, eval: {} } };
  result.settings = { ...s, ks: [...new Set([...(result.settings.ks ?? []), ...s.ks])] };
  const save = () => writeFileAtomic(file, JSON.stringify(result, null, 1) + '\n');
  const sourceData = Object.fromEntries(sources.map((c) => [c, loadSplit(root, c, 'train')]));
  const chars = CharVocab.build(sources.flatMap((c) => sourceData[c].flatMap((x) => x.tokens)), 2);
  const targets = corpora.map((corpus) => {
    const test = loadEvaluationSplit(root, corpus, 'test');
    return { corpus, train: loadSplit(root, corpus, 'train'), test: testSubset(test.sentences, s.testLimit, s.seed), types: test.types };
  });
  const log = (msg: string) => process.stderr.write(`[${target}] ${msg}\n`);
  const metaKs = s.metaK > 0 ? [s.metaK] : s.ks;

  for (const method of methods) {
    for (const metaK of metaKs) {
      const evalKs = s.metaK > 0 ? s.ks : [metaK];
      const todo = evalKs.filter((k) => corpora.some((c) => (result.f1[method]?.[k]?.[c]?.length ?? 0) < s.samples));
      if (todo.length === 0) continue;
      let init: NerModel;
      const t0 = Date.now();
      if (method === 'scratch') {
        init = scratchModel(words, chars, { hidden: 128, layers: 1 }, s.seed);
      } else {
        const modelDir = path.join(unitDir(s), 'models', `${method}-${target}-k${metaK}`);
        if (fs.existsSync(path.join(modelDir, 'manifest.json'))) {
          init = loadModel(modelDir);
        } else {
          let lastLog = 0;
          const { model } = await metaTrain(
            sourceData,
            words,
            { method, k: metaK, iterations: s.iterations, tasksPerIteration: s.tasksPerIteration, innerSteps: s.innerSteps, innerLr: s.innerLr, outerLr: s.outerLr, seed: s.seed },
            {
              checkpointDir: path.join(unitDir(s), 'checkpoints', `${method}-${target}-k${metaK}`),
              checkpointEvery: 100,
              onIteration: (r, p) => {
                if (Date.now() - lastLog < 30_000 && p.iteration !== p.iterations) return;
                lastLog = Date.now();
                const loss = r.tasks.reduce((a, t) => a + t.labelLoss, 0) / r.tasks.length;
                log(`${method} K=${metaK} iteration ${p.iteration}/${p.iterations} query loss ${loss.toFixed(3)} (${p.elapsedSeconds.toFixed(0)} s)`);
              },
            },
          );
          saveModel(model, modelDir);
          fs.rmSync(path.join(unitDir(s), 'checkpoints', `${method}-${target}-k${metaK}`), { recursive: true, force: true });
          init = model;
          result.seconds.meta[`${method}/k${metaK}`] = (Date.now() - t0) / 1000;
        }
      }
      const t1 = Date.now();
      for (const t of targets) {
        const ks = todo.filter((k) => (result.f1[method]?.[k]?.[t.corpus]?.length ?? 0) < s.samples);
        if (ks.length === 0) continue;
        const scores = fewShotEval(init, t, { ks, samples: s.samples, seed: s.seed, adapt: { epochs: s.adaptEpochs, maxSteps: s.adaptMaxSteps, lr: s.adaptLr, batchSize: 10 } });
        for (const k of ks) {
          ((result.f1[method] ??= {})[k] ??= {})[t.corpus] = scores.f1[k];
          log(`${method} K=${k} ${t.corpus}: F1 ${scores.mean[k].toFixed(4)} (${scores.f1[k].map((f) => f.toFixed(3)).join(' ')})`);
        }
        save();
      }
      result.seconds.eval[`${method}/k${metaK}`] = (result.seconds.eval[`${method}/k${metaK}`] ?? 0) + (Date.now() - t1) / 1000;
      save();
      init.dispose();
    }
  }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

function report(s: Settings, methods: Method[], units: UnitResult[], wallSeconds: number, command: string): void {
  const corpora = units.flatMap((u) => u.corpora);
  const results: Record<string, Record<string, Record<string, number>>> = {};
  for (const m of methods) {
    for (const k of s.ks) {
      const row: Record<string, number> = {};
      for (const u of units) for (const c of u.corpora) if (u.f1[m]?.[k]?.[c]?.length) row[c] = Number(mean(u.f1[m][k][c]).toFixed(4));
      const present = corpora.filter((c) => row[c] !== undefined);
      if (present.length === 0) continue;
      if (present.length === corpora.length) row.overall = Number(mean(present.map((c) => row[c])).toFixed(4));
      (results[m] ??= {})[k] = row;
    }
  }
  const resultsDir = path.join(packageRoot(), 'docs', 'results');
  const metaSeconds = units.reduce((a, u) => a + Object.values(u.seconds.meta).reduce((x, y) => x + y, 0), 0);
  const evalSeconds = units.reduce((a, u) => a + Object.values(u.seconds.eval).reduce((x, y) => x + y, 0), 0);
  const json = {
    mode: s.mode,
    results,
    settings: s,
    targets: units.map((u) => ({ target: u.target, corpora: u.corpora, meta_training_corpora: u.sources })),
    samples_f1: Object.fromEntries(units.map((u) => [u.target, u.f1])),
    wall_seconds: Math.round(wallSeconds),
    meta_training_seconds: Math.round(metaSeconds),
    adaptation_seconds: Math.round(evalSeconds),
    command,
    date: new Date().toISOString(),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, wasm backend`,
  };
  writeFileAtomic(path.join(resultsDir, 'fewshot.json'), JSON.stringify(json, null, 1) + '\n');

  const pct = (x: number | undefined) => (x === undefined ? '' : (100 * x).toFixed(1));
  const lines: string[] = [];
  lines.push('# Few-shot heterogeneous adaptation (paper Table 3)', '');
  const incomplete = methods.filter((m) => s.ks.some((k) => results[m]?.[k]?.overall === undefined));
  if (incomplete.length) lines.push(`**Partial run**: ${incomplete.join(', ')} lack some corpora (their units did not finish); their overall F1 is left empty.`, '');
  lines.push(`Written by \`${command}\` on ${json.date.slice(0, 10)} (${json.machine}); wall time ${(wallSeconds / 60).toFixed(1)} min (meta-training ${(metaSeconds / 60).toFixed(1)} min, adaptation + scoring ${(evalSeconds / 60).toFixed(1)} min, summed over jobs).`, '');
  lines.push(`Mode **${s.mode}**: ${s.iterations} meta-iterations of ${s.tasksPerIteration} tasks (K = ${s.metaK > 0 ? `${s.metaK} for every evaluated K` : 'the evaluated K'}), ${s.innerSteps} inner SGD steps at β = ${s.innerLr}, outer AdamW α = ${s.outerLr} (linear schedule, clip 5), λ = 1; adaptation: new CRF decoder over the target's types, AdamW lr ${s.adaptLr}, ${s.adaptEpochs} epochs of batches of 10 (at most ${s.adaptMaxSteps} steps); ${s.samples} support samples per K (sentences with at least one entity, the same samples for every method), seed ${s.seed}; scored on ${s.testLimit > 0 ? `a fixed random subset of ${s.testLimit} test sentences` : 'the whole test split'} per corpus.`, '');
  lines.push('F1 in %, entity level (conlleval), averaged over the samples. Paper rows (BioWordVec embeddings, 10000 iterations, 20 samples) for comparison.', '');
  lines.push(`| K | method | ${corpora.join(' | ')} | overall |`);
  lines.push(`| --- | --- | ${corpora.map(() => '---:').join(' | ')} | ---: |`);
  for (const k of s.ks) {
    for (const m of methods) {
      const row = results[m]?.[k];
      if (row) lines.push(`| ${k} | ${m} | ${corpora.map((c) => pct(row[c])).join(' | ')} | ${pct(row.overall)} |`);
    }
    for (const [m, rows] of Object.entries(PAPER)) lines.push(`| ${k} | *paper ${m}* | ${corpora.map((c) => pct(rows[k]?.[c])).join(' | ')} | *${pct(rows[k]?.overall)}* |`);
  }
  lines.push('');
  writeFileAtomic(path.join(resultsDir, 'fewshot.md'), lines.join('\n'));
  process.stdout.write(lines.join('\n') + '\n');
}

async function main(): Promise<void> {
  const { settings, methods, targets, jobs, unit, fresh, reportOnly, wallMinutes } = parse();
  if (reportOnly) {
    // The table of what the units have written so far (an interrupted run, or units run by several
    // invocations); --wall-minutes says how long they took in all.
    const done = targets.filter((t) => fs.existsSync(path.join(unitDir(settings), `${t}.json`)));
    const units = done.map((t) => JSON.parse(fs.readFileSync(path.join(unitDir(settings), `${t}.json`), 'utf8')) as UnitResult);
    report(settings, methods, units, wallMinutes * 60, `npm run bench:fewshot -- ${process.argv.slice(2).join(' ')}`);
    return;
  }
  const root = corporaRoot();
  const embeddingsFile = await ensureEmbeddings({ corporaRoot: root, cacheDir: path.join(cacheDir(), 'embeddings') });
  if (unit) {
    await initBackend('wasm');
    await runUnit(unit, settings, methods, EmbeddingTable.load(embeddingsFile));
    return;
  }
  if (fresh) fs.rmSync(unitDir(settings), { recursive: true, force: true });
  const started = Date.now();
  const queue = [...targets];
  const failures: string[] = [];
  const args = process.argv.slice(2).filter((a) => a !== '--fresh');
  const worker = async (): Promise<void> => {
    for (let target = queue.shift(); target; target = queue.shift()) {
      const child = fork(__filename, [...args, '--unit', target], { execArgv: process.execArgv, stdio: 'inherit' });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      if (code !== 0) failures.push(`${target} (exit ${code})`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker));
  if (failures.length) throw new Error(`units failed: ${failures.join(', ')}`);
  const units = targets.map((t) => JSON.parse(fs.readFileSync(path.join(unitDir(settings), `${t}.json`), 'utf8')) as UnitResult);
  report(settings, methods, units, (Date.now() - started) / 1000, `npm run bench:fewshot${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
