/**
 * bench:fewshot's tables from the stored units: mean F1 per method, K and corpus beside the paper's rows, paired
 * bootstrap intervals over the same support samples, the extend-mode figures, calibration and the hardness of
 * meta-training. Writes fewshot.{json,md} and fewshot-hardness.svg.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pairedBootstrap, PairedComparison } from '../training/eval/bootstrap';
import { writeFileAtomic } from '../training/io/atomic';
import { HardnessLine, readHardnessLog, summarizeHardness, HardnessSummary } from '../training/meta/hardness-log';
import { hardnessSvg, hardnessTables } from './fewshot-hardness';
import { hardnessLogFile, initName, isMetaTrained, logsHardness } from './fewshot-inits';
import { EXTEND, EXTEND_BASE, Invocation, Method, PAPER } from './fewshot-settings';
import type { ScoreStore, StoredScore, TimeBook } from './fewshot-store';

export interface TargetInfo {
  target: string;
  corpora: string[];
  sources: string[];
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** ECE over several scorings, each weighted by its predicted entities (a scoring without any has no calibration). */
function pooledEce(xs: readonly { ece: number; entities: number }[]): number {
  const n = xs.reduce((a, x) => a + x.entities, 0);
  return n > 0 ? xs.reduce((a, x) => a + x.ece * x.entities, 0) / n : NaN;
}
const r4 = (x: number): number => Number(x.toFixed(4));

/** The comparisons of the statistics table: every method against scratch, the meta-learners with each other, mtl+ against mtl. */
function comparisonPairs(methods: readonly Method[]): [Method, Method][] {
  const pairs: [Method, Method][] = methods.filter((m) => m !== 'scratch').map((m) => [m, 'scratch']);
  const extra: [Method, Method][] = [
    ['metabioner', 'metaner'],
    ['metabioner', 'maml'],
    ['metaner', 'maml'],
    ['metabioner', 'metabioner-nes'],
    ['mtl', 'metabioner'],
    ['mtl+metabioner', 'mtl'],
    ['mtl+metabioner', 'metabioner'],
  ];
  return [...pairs, ...extra.filter(([a, b]) => methods.includes(a) && methods.includes(b))].filter(([a, b]) => methods.includes(b) && a !== b);
}

export interface Report {
  json: Record<string, unknown>;
  md: string;
  svg?: string;
}

export function buildReport(inv: Invocation, store: ScoreStore, times: TimeBook, targets: readonly TargetInfo[], command: string): Report {
  const s = inv.settings;
  const corpora = targets.flatMap((t) => t.corpora);
  const samples = Array.from({ length: s.samples }, (_, i) => i);
  const unitsOf = (method: string, k: number, corpus: string): StoredScore[] => samples.flatMap((i) => store.get(method, k, corpus, i) ?? []);

  // Mean F1 per method, K, corpus; overall only when every corpus has every sample.
  const results: Record<string, Record<string, Record<string, number>>> = {};
  const eceMeans: Record<string, Record<string, number>> = {};
  const samplesF1: Record<string, Record<string, Record<string, number[]>>> = {};
  for (const m of inv.methods) {
    for (const k of s.ks) {
      const row: Record<string, number> = {};
      const eces: { ece: number; entities: number }[] = [];
      for (const c of corpora) {
        const u = unitsOf(m, k, c);
        if (u.length === 0) continue;
        row[c] = r4(mean(u.map((x) => x.f1)));
        eces.push(...u);
        ((samplesF1[m] ??= {})[k] ??= {})[c] = u.map((x) => r4(x.f1));
      }
      if (Object.keys(row).length === 0) continue;
      if (corpora.every((c) => unitsOf(m, k, c).length === s.samples)) row.overall = r4(mean(corpora.map((c) => row[c])));
      (results[m] ??= {})[k] = row;
      (eceMeans[m] ??= {})[k] = r4(pooledEce(eces));
    }
  }

  // Paired bootstrap over (corpus, sample) units both methods have.
  const comparisons: Record<string, Record<string, PairedComparison>> = {};
  for (const [a, b] of comparisonPairs(inv.methods)) {
    for (const k of s.ks) {
      const xs: number[] = [];
      const ys: number[] = [];
      for (const c of corpora)
        for (const i of samples) {
          const [x, y] = [store.get(a, k, c, i), store.get(b, k, c, i)];
          if (x && y) {
            xs.push(x.f1);
            ys.push(y.f1);
          }
        }
      if (xs.length >= 2) (comparisons[`${a} − ${b}`] ??= {})[k] = roundComparison(pairedBootstrap(xs, ys, 10_000, 0.95, s.seed));
    }
  }

  // Extend mode on the mtl initialisation: the new type(s) against replace mode on the same support sets, and the
  // known types of the source corpora before and after.
  const extend: Record<string, Record<string, unknown>> = {};
  const extendCalibration: Record<string, Record<string, number>> = {};
  for (const k of s.extendKs) {
    const pairsNew: [number, number][] = [];
    const pairsOld: [number, number][] = [];
    type Cal = { ece: number; entities: number };
    const ece = { newExtend: [] as Cal[], newReplace: [] as Cal[], oldBefore: [] as Cal[], oldAfter: [] as Cal[] };
    for (const t of targets)
      for (const c of t.corpora)
        for (const i of samples) {
          const e = store.get(EXTEND, k, c, i);
          if (!e?.retained) continue;
          const r = store.get('mtl', k, c, i);
          if (r) {
            pairsNew.push([e.f1, r.f1]);
            ece.newReplace.push(r);
          }
          ece.newExtend.push(e);
          const known = Object.keys(e.retained).filter((x) => store.get(EXTEND_BASE, 0, x, 0));
          if (known.length === 0) continue;
          pairsOld.push([mean(known.map((x) => store.get(EXTEND_BASE, 0, x, 0)!.f1)), mean(known.map((x) => e.retained![x].f1))]);
          ece.oldBefore.push(...known.map((x) => store.get(EXTEND_BASE, 0, x, 0)!));
          ece.oldAfter.push(...known.map((x) => e.retained![x]));
        }
    if (pairsOld.length === 0) continue;
    extend[k] = {
      new_f1: r4(mean(pairsNew.map((p) => p[0]))),
      replace_new_f1: r4(mean(pairsNew.map((p) => p[1]))),
      old_mean_f1_before: r4(mean(pairsOld.map((p) => p[0]))),
      old_mean_f1_after: r4(mean(pairsOld.map((p) => p[1]))),
      units: pairsOld.length,
      ...(pairsNew.length >= 2 ? { new_minus_replace: roundComparison(pairedBootstrap(pairsNew.map((p) => p[0]), pairsNew.map((p) => p[1]), 10_000, 0.95, s.seed)) } : {}),
      ...(pairsOld.length >= 2 ? { old_after_minus_before: roundComparison(pairedBootstrap(pairsOld.map((p) => p[1]), pairsOld.map((p) => p[0]), 10_000, 0.95, s.seed)) } : {}),
    };
    extendCalibration[k] = { ece_new_extend: r4(pooledEce(ece.newExtend)), ece_new_replace: r4(pooledEce(ece.newReplace)), ece_old_before: r4(pooledEce(ece.oldBefore)), ece_old_after: r4(pooledEce(ece.oldAfter)) };
  }

  // Hardness of the hardness-weighted meta-trainings, pooled over held-out domains per method.
  const hardness: Record<string, HardnessSummary> = {};
  for (const m of inv.methods.filter(logsHardness)) {
    const metaKs = s.metaK > 0 ? [s.metaK] : s.ks;
    const lines: HardnessLine[] = [];
    for (const t of targets) {
      const file = hardnessLogFile(inv, initName(m, t.target, metaKs[0]));
      if (fs.existsSync(file)) lines.push(...readHardnessLog(file));
    }
    if (lines.length) hardness[`${m} (K = ${metaKs[0]})`] = summarizeHardness(lines.sort((a, b) => a.iteration - b.iteration));
  }

  const initSeconds = Object.values(times.times.inits).reduce((a, b) => a + b, 0);
  const unitSeconds = store.all().reduce((a, u) => a + (u.seconds ?? 0), 0);
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, wasm backend, ${inv.workers || os.cpus().length} worker(s)`;
  const json = {
    mode: s.mode,
    results,
    settings: s,
    paper: PAPER,
    comparisons,
    extend,
    calibration: { replace: eceMeans, extend: extendCalibration },
    hardness,
    targets: targets.map((t) => ({ target: t.target, corpora: t.corpora, meta_training_corpora: t.sources })),
    samples_f1: samplesF1,
    wall_seconds: times.wallSeconds,
    initialisation_seconds: times.times.inits,
    adaptation_seconds: Math.round(unitSeconds),
    command,
    date: new Date().toISOString(),
    machine,
  };
  const lines = markdown(inv, targets, results, comparisons, extend, eceMeans, extendCalibration, hardness, { wall: times.wallSeconds, init: initSeconds, units: unitSeconds, command, machine, date: json.date });
  return { json, md: lines.join('\n') + '\n', svg: Object.keys(hardness).length ? hardnessSvg(Object.entries(hardness).map(([title, summary]) => ({ title, summary }))) : undefined };
}

function roundComparison(c: PairedComparison): PairedComparison {
  return { meanDifference: r4(c.meanDifference), low: r4(c.low), high: r4(c.high), winRate: r4(c.winRate), pairs: c.pairs };
}

const pct = (x: number | undefined): string => (x === undefined ? '' : (100 * x).toFixed(1));
const f3 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3));
const signed = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}`;

function markdown(
  inv: Invocation,
  targets: readonly TargetInfo[],
  results: Record<string, Record<string, Record<string, number>>>,
  comparisons: Record<string, Record<string, PairedComparison>>,
  extend: Record<string, Record<string, unknown>>,
  ece: Record<string, Record<string, number>>,
  extendEce: Record<string, Record<string, number>>,
  hardness: Record<string, HardnessSummary>,
  run: { wall: number; init: number; units: number; command: string; machine: string; date: string },
): string[] {
  const s = inv.settings;
  const corpora = targets.flatMap((t) => t.corpora);
  const L: string[] = [];
  L.push('# Few-shot heterogeneous adaptation (paper Table 3)', '');
  const incomplete = inv.methods.filter((m) => s.ks.some((k) => results[m]?.[k]?.overall === undefined));
  if (incomplete.length) L.push(`**Partial run**: ${incomplete.join(', ')} lack some units; their overall F1 is left empty.`, '');
  L.push(`Written by \`${run.command}\` on ${run.date.slice(0, 10)} (${run.machine}); wall time ${(run.wall / 60).toFixed(1)} min over the run's sessions (training the initialisations ${(run.init / 60).toFixed(1)} min, adapting and scoring ${(run.units / 60).toFixed(1)} min of unit time, concurrent on the workers).`, '');
  const scored = s.testLimit > 0 ? `**a fixed random subset of ${s.testLimit} ${s.evalSplit} sentences per corpus** (the whole split when smaller; the same for every method)` : `the whole ${s.evalSplit} split of each corpus`;
  if (s.evalSplit === 'devel') L.push('**Scored on the devel splits** (choosing the adaptation recipe): not comparable with the paper\'s test scores.', '');
  L.push(`Mode **${s.mode}**: **${s.samples} support samples per K** (sentences with at least one entity, the same samples for every method), scored on ${scored}; seed ${s.seed}. Leave-one-domain-out: every initialisation of a target domain was trained without its corpora.`, '');
  L.push(`- meta-learners: ${s.iterations} meta-iterations of ${s.tasksPerIteration} tasks (K = ${s.metaK > 0 ? `${s.metaK} for every evaluated K` : 'the evaluated K'}), ${s.innerSteps} inner SGD steps at β = ${s.innerLr}, outer AdamW α = ${s.outerLr} (linear schedule, clip 5), λ = 1;`);
  L.push(`- \`mtl\`: the unified multi-task tagger (one CRF over the sources' types, partial-label loss) on ${s.mtlMaxTrainSentences > 0 ? `the first ${s.mtlMaxTrainSentences} training sentences` : 'every training sentence'} of each source corpus, at most ${s.mtlEpochs} epochs (early stopping on the sources' mean devel F1, patience ${s.mtlPatience}); \`mtl+metabioner\`: its encoder, then MetaBioNER's meta-training as above;`);
  L.push(`- adaptation (replace mode, the paper's): new CRF decoder over the target's types, encoder and decoder trained, AdamW lr ${s.adaptLr}, ${s.adaptEpochs} epochs of batches of 10 (at most ${s.adaptMaxSteps} steps).`, '');
  L.push('F1 in %, entity level (conlleval), averaged over the samples. Paper rows: its Table 3 (BioWordVec embeddings, 10000 iterations, 20 samples, whole test splits); its overall F1 averages eight corpora (with BC4CHEMD, which we lack), *overall7* the seven we have.', '');
  L.push(`| K | method | ${corpora.join(' | ')} | overall |`);
  L.push(`| --- | --- | ${corpora.map(() => '---:').join(' | ')} | ---: |`);
  for (const k of s.ks) {
    for (const m of inv.methods) {
      const row = results[m]?.[k];
      if (row) L.push(`| ${k} | ${m} | ${corpora.map((c) => pct(row[c])).join(' | ')} | ${pct(row.overall)} |`);
    }
    for (const [m, rows] of Object.entries(PAPER)) if (rows[k]) L.push(`| ${k} | *paper ${m}* | ${corpora.map((c) => pct(rows[k][c])).join(' | ')} | *${pct(rows[k].overall)}* (overall7 ${pct(rows[k].overall7)}) |`);
  }
  L.push('');
  if (Object.keys(comparisons).length) {
    L.push('## Paired comparisons', '');
    L.push('Mean F1 difference in points over the (corpus, support sample) units both methods scored, with its 95% paired bootstrap interval (10,000 resamples of the units); an interval covering 0 is no finding. Cells: difference [low, high].', '');
    L.push(`| comparison | ${s.ks.map((k) => `K = ${k}`).join(' | ')} |`);
    L.push(`| --- | ${s.ks.map(() => '---:').join(' | ')} |`);
    for (const [name, byK] of Object.entries(comparisons)) L.push(`| ${name} | ${s.ks.map((k) => (byK[k] ? `${signed(byK[k].meanDifference)} [${signed(byK[k].low)}, ${signed(byK[k].high)}]${byK[k].low > 0 || byK[k].high < 0 ? ' **' : ''}` : '')).join(' | ')} |`);
    L.push('', '** the interval excludes 0.', '');
  }
  if (Object.keys(extend).length) {
    L.push('## Extend mode (the editor\'s adaptation) against replace mode', '');
    L.push('The `mtl` initialisation of each held-out domain (it knows the other domains\' types) adapted on the same support samples: *extend* grows its decoder by the target\'s types and trains only their decoder weights (DEFAULT_EXTEND); *replace* is the `mtl` row above. Old types: the mean F1 of the source corpora (their own, unified types) before and after the extension, on the same test subsets. Target: new-type F1 within 2 points of replace, old types within 1 point.', '');
    L.push('| K | new-type F1 extend | replace | extend − replace [95%] | old types before | after | after − before [95%] | units |');
    L.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const [k, e] of Object.entries(extend)) {
      const ci = (c: unknown): string => (c ? `${signed((c as PairedComparison).meanDifference)} [${signed((c as PairedComparison).low)}, ${signed((c as PairedComparison).high)}]` : '');
      L.push(`| ${k} | ${pct(e.new_f1 as number)} | ${pct(e.replace_new_f1 as number)} | ${ci(e.new_minus_replace)} | ${pct(e.old_mean_f1_before as number)} | ${pct(e.old_mean_f1_after as number)} | ${ci(e.old_after_minus_before)} | ${e.units as number} |`);
    }
    L.push('');
  }
  if (Object.keys(ece).length) {
    L.push('## Calibration', '');
    L.push('Expected calibration error (10 bins) of the predicted entities\' confidences (CRF span probabilities) on the scored test sentences, averaged over units weighted by their predicted entities; lower is better.', '');
    L.push(`| method (replace mode, after adaptation) | ${s.ks.map((k) => `K = ${k}`).join(' | ')} |`);
    L.push(`| --- | ${s.ks.map(() => '---:').join(' | ')} |`);
    for (const [m, byK] of Object.entries(ece)) L.push(`| ${m} | ${s.ks.map((k) => f3(byK[k])).join(' | ')} |`);
    L.push('');
    if (Object.keys(extendEce).length) {
      L.push('| extend mode, K | new type (extend) | new type (replace) | old types before adaptation | old types after |');
      L.push('| --- | ---: | ---: | ---: | ---: |');
      for (const [k, e] of Object.entries(extendEce)) L.push(`| ${k} | ${f3(e.ece_new_extend)} | ${f3(e.ece_new_replace)} | ${f3(e.ece_old_before)} | ${f3(e.ece_old_after)} |`);
      L.push('');
    }
  }
  if (Object.keys(hardness).length) {
    L.push('## Task hardness over meta-training (paper Table 4)', '');
    L.push('From the runs\' hardness logs (every held-out domain pooled): the relative weight n·γθ of a task (γθ = its share of the iteration\'s query loss L_lab + λ·L_cls) by the number of entities in its query set.', '');
    L.push('![mean n·γθ per query entity bucket over meta-training](fewshot-hardness.svg)', '');
    for (const [title, summary] of Object.entries(hardness)) L.push(...hardnessTables(title, summary));
  }
  const trained = inv.methods.filter(isMetaTrained);
  if (trained.length) L.push(`Initialisations trained: ${trained.join(', ')} per held-out domain${s.metaK > 0 ? '' : ' and K'}; mtl per held-out domain.`, '');
  return L;
}

export function writeReport(inv: Invocation, r: Report): void {
  fs.mkdirSync(inv.outDir, { recursive: true });
  writeFileAtomic(path.join(inv.outDir, 'fewshot.json'), JSON.stringify(r.json, null, 1) + '\n');
  writeFileAtomic(path.join(inv.outDir, 'fewshot.md'), r.md);
  if (r.svg) writeFileAtomic(path.join(inv.outDir, 'fewshot-hardness.svg'), r.svg);
}
