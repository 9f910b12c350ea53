/**
 * bench:fewshot — Table 3 of the MetaBioNER paper and beyond it: leave-one-domain-out initialisations (scratch,
 * the four meta-learners, the unified multi-task tagger `mtl` and `mtl+metabioner`), then heterogeneous few-shot
 * adaptation to every corpus of the held-out domain, K ∈ {5, 10, 20, 50, 100}, F1 per support sample; paired
 * bootstrap intervals, the extend mode of the editor beside replace mode, calibration, and task hardness over
 * meta-training (Table 4). Writes fewshot.{json,md} and fewshot-hardness.svg to docs/results (or --out).
 *
 *   npm run bench:fewshot                              # quick mode (see fewshot-settings.ts)
 *   npm run bench:fewshot -- --mode paper-lite         # ≥ 10 samples, 1,000 fixed test sentences per corpus
 *   npm run bench:fewshot -- --mode full               # the paper's protocol
 *   npm run bench:fewshot -- --targets Species --methods mtl,scratch --ks 5 --samples 1 --out /tmp/fs
 *   npm run bench:fewshot -- --mode paper-lite --report-only   # the tables of what is done so far
 *   npm run bench:fewshot -- --mode paper-lite --eval-split devel --methods mtl --adapt-lr 0.01 --out /tmp/recipe
 *                                                      # an adaptation recipe scored on the devel splits
 *
 * Everything runs in this process on `--workers` threads (default every core): an initialisation trains on all of
 * them, then its (K, sample) units are adapted and scored on whichever thread is free. Each unit's scores are
 * appended to <work dir>/scores.jsonl when done, and models, checkpoints and hardness logs are kept in the init
 * directory: a killed run, started again with the same settings, continues where it stopped. More --samples or other
 * --ks add units to the same run; other settings start another work directory, and reuse the initialisations when
 * only the adaptation or scoring differs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listCorpora, corporaRoot, loadSplit } from '../training/data/corpora';
import { ensureEmbeddings } from '../training/embeddings/cache';
import { EmbeddingTable } from '../training/embeddings/store';
import { initBackend } from '../training/engine/backend';
import { writeFileAtomic } from '../training/io/atomic';
import { cacheDir } from '../training/io/paths';
import { DEFAULT_EXTEND } from '../training/meta/adapt';
import { FewShotTarget, RetainedCorpus, SampleScore, scoreOn, testSubset } from '../training/meta/fewshot-eval';
import { DOMAINS, metaTrainingCorpora } from '../training/meta/tasks';
import { loadModel } from '../training/model/model-io';
import { mappedTypes, mapSentenceTypes, UNIFIED_TYPE_MAPS } from '../training/multitask/type-map';
import { fewShotEvalOnWorkers, InitSource } from '../training/parallel/fewshot-pool';
import { resolveWorkers } from '../training/parallel/worker-entry';
import { loadEvaluationSplit } from '../training/train/training-data';
import { ensureInit, isMetaTrained, RunContext } from './fewshot-inits';
import { buildReport, TargetInfo, writeReport } from './fewshot-report';
import { EXTEND, EXTEND_BASE, Invocation, parseInvocation, runKey, Settings } from './fewshot-settings';
import { ScoreStore, TimeBook } from './fewshot-store';

function targetInfo(target: string, available: readonly string[]): TargetInfo {
  return { target, corpora: DOMAINS[target].filter((c) => available.includes(c)), sources: metaTrainingCorpora(target, available) };
}

/** A work directory belongs to one set of settings: refuse to mix another run's models and scores into it. */
function claimWorkDir(inv: Invocation): void {
  const file = path.join(inv.workDir, 'settings.json');
  const key = runKey(inv.settings);
  if (fs.existsSync(file)) {
    const was = JSON.parse(fs.readFileSync(file, 'utf8')) as Settings;
    if (runKey(was) !== key) throw new Error(`${inv.workDir} holds a run with other settings (${JSON.stringify(was)}); choose another --work-dir or --fresh`);
  }
  fs.mkdirSync(inv.workDir, { recursive: true });
  writeFileAtomic(file, JSON.stringify(inv.settings, null, 1) + '\n');
}

/** The adaptation and scoring of every missing unit of one initialisation on one target corpus. */
async function runUnits(ctx: RunContext, store: ScoreStore, method: string, source: InitSource, target: FewShotTarget, ks: number[], adapt: Record<string, unknown>): Promise<void> {
  const s = ctx.settings;
  const units = ks.flatMap((k) => Array.from({ length: s.samples }, (_, sample) => ({ k, sample }))).filter((u) => !store.has(method, u.k, target.corpus, u.sample));
  if (units.length === 0) return;
  let last = Date.now();
  await fewShotEvalOnWorkers(source, target, { ks, samples: s.samples, seed: s.seed, adapt, units }, ctx.workers, (r: SampleScore) => {
    // Units finish one at a time per thread: the time since the previous result is this one's share of the wall time.
    const now = Date.now();
    store.add({ method, k: r.k, corpus: target.corpus, sample: r.sample, f1: r.f1, ece: r.ece, entities: r.entities, ...(r.retained ? { retained: r.retained } : {}), seconds: ((now - last) / 1000) * ctx.workers });
    last = now;
    ctx.times.save();
    ctx.log(`${method} K=${r.k} ${target.corpus} sample ${r.sample + 1}: F1 ${r.f1.toFixed(4)} ECE ${r.ece.toFixed(3)}${r.retained ? ` old types ${Object.entries(r.retained).map(([c, x]) => `${c} ${x.f1.toFixed(3)}`).join(' ')}` : ''}`);
  });
}

/** The source corpora's test subsets with the unified tagger's type names, for the old types of extend mode. */
function retainedCorpora(ctx: RunContext, info: TargetInfo, knownTypes: readonly string[]): RetainedCorpus[] {
  return info.sources.map((c) => {
    const { sentences, types } = loadEvaluationSplit(ctx.root, c, ctx.settings.evalSplit);
    const map = UNIFIED_TYPE_MAPS[c] ?? {};
    return { corpus: c, test: testSubset(sentences, ctx.settings.testLimit, ctx.settings.seed).map((x) => mapSentenceTypes(x, map)), types: mappedTypes(types, map).filter((t) => knownTypes.includes(t)) };
  });
}

async function runTarget(ctx: RunContext, inv: Invocation, store: ScoreStore, info: TargetInfo): Promise<void> {
  const s = ctx.settings;
  const adapt = { epochs: s.adaptEpochs, maxSteps: s.adaptMaxSteps, lr: s.adaptLr, batchSize: 10 };
  const targets: FewShotTarget[] = info.corpora.map((corpus) => {
    const test = loadEvaluationSplit(ctx.root, corpus, s.evalSplit);
    return { corpus, train: loadSplit(ctx.root, corpus, 'train'), test: testSubset(test.sentences, s.testLimit, s.seed), types: test.types };
  });
  const missing = (method: string, ks: number[]): boolean => targets.some((t) => ks.some((k) => Array.from({ length: s.samples }, (_, i) => i).some((i) => !store.has(method, k, t.corpus, i))));
  for (const method of inv.methods) {
    // One initialisation for every K (scratch, mtl, or meta-training at a fixed K), or one per K (the paper's).
    const plan: { metaK: number; ks: number[] }[] = isMetaTrained(method) && s.metaK === 0 ? s.ks.map((k) => ({ metaK: k, ks: [k] })) : [{ metaK: s.metaK, ks: s.ks }];
    for (const { metaK, ks } of plan) {
      if (!missing(method, ks)) continue;
      ctx.log(`${method}: initialisation for ${info.target}${isMetaTrained(method) ? ` (meta-training K = ${metaK})` : ''}`);
      const source = await ensureInit(ctx, method, info.target, metaK);
      for (const t of targets) await runUnits(ctx, store, method, source, t, ks, adapt);
    }
  }
  if (!inv.methods.includes('mtl') || s.extendKs.length === 0 || !missing(EXTEND, s.extendKs)) return;
  // Extend mode on the mtl initialisation: the held-out domain's types are new to it.
  const source = await ensureInit(ctx, 'mtl', info.target, 0);
  if (source.kind !== 'model') throw new Error('the mtl initialisation is a model directory');
  const base = loadModel(source.dir);
  const retained = retainedCorpora(ctx, info, base.types);
  try {
    for (const c of retained) {
      if (store.has(EXTEND_BASE, 0, c.corpus, 0) || c.types.length === 0) continue;
      const t0 = Date.now();
      const r = scoreOn(base, c.test, c.types);
      store.add({ method: EXTEND_BASE, k: 0, corpus: c.corpus, sample: 0, ...r, seconds: (Date.now() - t0) / 1000 });
      ctx.log(`mtl before adaptation (${info.target} held out): ${c.corpus} F1 ${r.f1.toFixed(4)} ECE ${r.ece.toFixed(3)}`);
    }
  } finally {
    base.dispose();
  }
  for (const t of targets) await runUnits(ctx, store, EXTEND, source, { ...t, retained: retained.filter((c) => c.types.length) }, s.extendKs, { ...DEFAULT_EXTEND, maxSteps: s.adaptMaxSteps });
}

async function main(): Promise<void> {
  const inv = parseInvocation(process.argv.slice(2));
  const command = `npm run bench:fewshot${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const root = corporaRoot();
  const available = listCorpora(root);
  const infos = inv.targets.map((t) => targetInfo(t, available));
  if (inv.fresh && !inv.reportOnly) fs.rmSync(inv.workDir, { recursive: true, force: true });
  if (inv.reportOnly && !fs.existsSync(path.join(inv.workDir, 'scores.jsonl'))) throw new Error(`no scores in ${inv.workDir}: nothing to report (same --mode and settings as the run?)`);
  claimWorkDir(inv);
  const store = new ScoreStore(path.join(inv.workDir, 'scores.jsonl'));
  const times = new TimeBook(path.join(inv.workDir, 'times.json'));
  if (!inv.reportOnly) {
    times.open();
    await initBackend('wasm');
    const wordsFile = await ensureEmbeddings({ corporaRoot: root, cacheDir: path.join(cacheDir(), 'embeddings') });
    const ctx: RunContext = {
      root,
      available,
      settings: inv.settings,
      initDir: inv.initDir,
      workers: resolveWorkers(inv.workers),
      wordsFile,
      words: EmbeddingTable.load(wordsFile),
      times,
      log: (msg) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`),
    };
    for (const info of infos) await runTarget(ctx, inv, store, info);
    times.save();
  }
  const report = buildReport(inv, store, times, infos, command);
  writeReport(inv, report);
  process.stdout.write(report.md);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
