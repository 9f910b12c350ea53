/**
 * bench:fewshot's modes, methods and the paper's numbers. A run's settings (K lists and sample counts aside)
 * name its work directory: runs with other settings never share models or scores.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../training/io/paths';
import { META_METHODS, MetaMethod } from '../training/meta/meta-train';
import { DOMAINS } from '../training/meta/tasks';

/**
 * The initialisations compared. `scratch`: a fresh tagger. The four meta-learners: meta-trained from scratch on
 * the other domains. `mtl`: the unified multi-task tagger trained on the other domains' corpora (training/meta/
 * lodo-init.ts); `mtl+metabioner`: that tagger's encoder meta-trained with task hardness.
 */
export type Method = MetaMethod | 'scratch' | 'mtl' | 'mtl+metabioner';
export const METHODS: readonly Method[] = [...META_METHODS, 'scratch', 'mtl', 'mtl+metabioner'];

/** Score-store keys of the extend-mode measurement (not methods of the table). */
export const EXTEND = 'mtl:extend';
export const EXTEND_BASE = 'mtl:base';

export type Mode = 'quick' | 'paper-lite' | 'full';

export interface Settings {
  mode: Mode;
  ks: number[];
  samples: number;
  /** Meta-iterations per meta-training run. */
  iterations: number;
  /** K of the meta-training tasks; 0 = the K being evaluated (one meta-training per K, as the paper does). */
  metaK: number;
  /** Sentences scored per corpus (0 = the whole split): a fixed random subset, the same for every method. */
  testLimit: number;
  /**
   * The split scored: `test` for the table, `devel` to choose the adaptation recipe (--adapt-lr, --adapt-epochs,
   * --adapt-max-steps) without looking at the test splits.
   */
  evalSplit: 'test' | 'devel';
  seed: number;
  tasksPerIteration: number;
  innerSteps: number;
  innerLr: number;
  outerLr: number;
  adaptEpochs: number;
  adaptMaxSteps: number;
  adaptLr: number;
  /** The mtl initialisation: train sentences per source corpus (0 = all), epochs, early-stopping patience. */
  mtlMaxTrainSentences: number;
  mtlEpochs: number;
  mtlPatience: number;
  /** Extend mode (DEFAULT_EXTEND on the mtl initialisation) at these K; [] = not measured. */
  extendKs: number[];
}

const COMMON = { ks: [5, 10, 20, 50, 100], evalSplit: 'test' as const, seed: 1, tasksPerIteration: 4, innerLr: 0.01, outerLr: 1e-3, adaptEpochs: 30, adaptLr: 5e-3, extendKs: [5, 10] };

/**
 * Wall times on a quiet 2-core machine (2 workers), estimated from docs/results/engine.md (2.55 meta-iterations/s at
 * K = 5 with 3 inner steps; 12.8k training sentences/min for the unified tagger) and the CPU time of units measured
 * on 2026-12-02 (one sample at K = 5, 10, 20, 50, 100 adapted and scored on 1,000 test sentences: ≈ 52 s):
 * quick ≈ 40 min; paper-lite ≈ 10 h (meta-training 20 runs × 2,000 iterations ≈ 4.4 h, mtl ≈ 1.3 h, 2,450 units ≈ 3.5 h,
 * extend ≈ 0.3 h); full ≈ 35–40 h with `--meta-k 5`, weeks with one meta-training per K (K = 100 tasks are ~20× K = 5).
 */
export const MODES: Record<Mode, Settings> = {
  // One meta-training per (method, target) at K = 5 reused for every K, 80 meta-iterations with 2 inner steps,
  // 2 support samples per K, at most 50 adaptation steps, 250 test sentences per corpus; mtl on 2,000 sentences
  // per source corpus, 2 epochs.
  quick: { ...COMMON, mode: 'quick', samples: 2, iterations: 80, metaK: 5, testLimit: 250, innerSteps: 2, adaptMaxSteps: 50, mtlMaxTrainSentences: 2000, mtlEpochs: 2, mtlPatience: 1 },
  // Between the two, what two cores do in about ten hours: the floor of 10 samples per K and 1,000 fixed
  // test sentences per corpus; one meta-training at K = 5 for every K, 2,000 iterations of 3 inner steps; the
  // paper's adaptation (30 epochs, at most 300 steps); mtl on 5,000 sentences per source corpus, ≤ 8 epochs.
  'paper-lite': { ...COMMON, mode: 'paper-lite', samples: 10, iterations: 2000, metaK: 5, testLimit: 1000, innerSteps: 3, adaptMaxSteps: 300, mtlMaxTrainSentences: 5000, mtlEpochs: 8, mtlPatience: 2 },
  // The paper's protocol: meta-training per K, 20 samples, whole test splits, 10000 iterations; mtl on every
  // training sentence until early stopping.
  full: { ...COMMON, mode: 'full', samples: 20, iterations: 10000, metaK: 0, testLimit: 0, innerSteps: 3, adaptMaxSteps: 300, mtlMaxTrainSentences: 0, mtlEpochs: 30, mtlPatience: 3 },
};

/** What the initialisations depend on: they are shared by runs that differ only in adaptation or scoring. */
export function initKey(s: Settings): string {
  const { iterations, metaK, seed, tasksPerIteration, innerSteps, innerLr, outerLr, mtlMaxTrainSentences, mtlEpochs, mtlPatience } = s;
  return createHash('sha256')
    .update(JSON.stringify({ iterations, metaK, seed, tasksPerIteration, innerSteps, innerLr, outerLr, mtlMaxTrainSentences, mtlEpochs, mtlPatience }))
    .digest('hex')
    .slice(0, 10);
}

/** What the table and its statistics depend on: everything but the K list and the sample count (units of their own). */
export function runKey(s: Settings): string {
  return createHash('sha256')
    .update(JSON.stringify({ ...s, ks: undefined, samples: undefined, extendKs: undefined }))
    .digest('hex')
    .slice(0, 10);
}

/**
 * Table 3 of the paper (F1): per method (ours named as the paper's: MAML = "MetaNER w/o critic") and K, the seven of
 * its eight corpora that we have (no BC4CHEMD) and its overall mean over all eight.
 */
const PAPER_COLUMNS = ['NCBI-disease', 'BC5CDR-disease', 'BC5CDR-chem', 'BC4CHEMD', 'JNLPBA', 'BC2GM', 'LINNAEUS', 'S800', 'overall'];
const PAPER_ROWS: Record<string, Record<number, number[]>> = {
  metaner: {
    5: [0.2729, 0.2171, 0.5784, 0.2212, 0.2175, 0.2443, 0.1214, 0.1516, 0.253],
    10: [0.333, 0.3688, 0.6659, 0.336, 0.3374, 0.3265, 0.3038, 0.3164, 0.3735],
    20: [0.4612, 0.4722, 0.7301, 0.4383, 0.4167, 0.3926, 0.4952, 0.2977, 0.463],
    50: [0.5731, 0.6106, 0.7478, 0.5082, 0.5337, 0.5058, 0.6125, 0.3607, 0.5565],
    100: [0.6005, 0.6484, 0.7975, 0.5852, 0.4993, 0.4747, 0.6581, 0.3854, 0.5811],
  },
  maml: {
    5: [0.275, 0.2327, 0.6136, 0.2347, 0.2535, 0.2374, 0.1262, 0.2216, 0.2744],
    10: [0.3785, 0.3689, 0.688, 0.3261, 0.3394, 0.3171, 0.3441, 0.2675, 0.3787],
    20: [0.4746, 0.5115, 0.6979, 0.42, 0.3783, 0.368, 0.5309, 0.4173, 0.4748],
    50: [0.589, 0.6052, 0.7364, 0.4788, 0.4681, 0.454, 0.6493, 0.404, 0.5481],
    100: [0.5637, 0.6447, 0.7943, 0.5904, 0.5257, 0.4985, 0.688, 0.4159, 0.5902],
  },
  metabioner: {
    5: [0.3001, 0.2698, 0.6102, 0.2464, 0.3687, 0.3326, 0.1753, 0.284, 0.3234],
    10: [0.3953, 0.4178, 0.6798, 0.4227, 0.479, 0.4489, 0.2939, 0.3703, 0.4385],
    20: [0.5631, 0.5529, 0.7472, 0.4935, 0.5466, 0.5114, 0.3657, 0.4432, 0.528],
    50: [0.625, 0.5939, 0.7737, 0.5728, 0.5666, 0.5442, 0.6369, 0.5855, 0.6123],
    100: [0.6433, 0.6489, 0.7822, 0.6395, 0.621, 0.6064, 0.6268, 0.5416, 0.6387],
  },
  'metabioner-nes': {
    5: [0.2825, 0.253, 0.5517, 0.2571, 0.3776, 0.3573, 0.1557, 0.2615, 0.3121],
    10: [0.4386, 0.4222, 0.6605, 0.3933, 0.4371, 0.4086, 0.2474, 0.3225, 0.4163],
    20: [0.554, 0.5098, 0.7305, 0.4694, 0.5375, 0.5097, 0.4843, 0.5205, 0.5394],
    50: [0.6208, 0.5847, 0.7612, 0.5781, 0.6146, 0.6016, 0.6373, 0.5445, 0.6179],
    100: [0.6699, 0.6531, 0.7773, 0.6093, 0.6338, 0.6163, 0.5956, 0.5755, 0.6413],
  },
};

/** paper[method][K][corpus | overall | overall7]: overall7 is the mean over the seven corpora we have. */
export const PAPER: Record<string, Record<number, Record<string, number>>> = Object.fromEntries(
  Object.entries(PAPER_ROWS).map(([m, byK]) => [
    m,
    Object.fromEntries(
      Object.entries(byK).map(([k, row]) => {
        const cells = Object.fromEntries(PAPER_COLUMNS.map((c, i) => [c, row[i]]));
        const ours = PAPER_COLUMNS.filter((c) => c !== 'BC4CHEMD' && c !== 'overall');
        cells.overall7 = Number((ours.reduce((a, c) => a + cells[c], 0) / ours.length).toFixed(4));
        return [Number(k), cells];
      }),
    ),
  ]),
);

export interface Invocation {
  settings: Settings;
  methods: Method[];
  targets: string[];
  workers: number;
  /** Where the run's scores live (default out/fewshot/<mode>-<key>). */
  workDir: string;
  /**
   * Where the initialisations (models, checkpoints, hardness logs) live: shared by every run with the same
   * training settings, e.g. adaptation recipes compared on the devel splits (default out/fewshot/inits-<key>,
   * or <work dir>/inits with --work-dir).
   */
  initDir: string;
  /** Where fewshot.{md,json} and the hardness figure go (default docs/results). */
  outDir: string;
  fresh: boolean;
  reportOnly: boolean;
}

export function parseInvocation(argv: string[]): Invocation {
  const { values } = parseArgs({
    args: argv,
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
      'eval-split': { type: 'string' },
      'adapt-lr': { type: 'string' },
      'adapt-epochs': { type: 'string' },
      'adapt-max-steps': { type: 'string' },
      'mtl-max-train-sentences': { type: 'string' },
      'mtl-epochs': { type: 'string' },
      'extend-ks': { type: 'string' },
      workers: { type: 'string', default: '0' },
      'work-dir': { type: 'string' },
      'init-dir': { type: 'string' },
      out: { type: 'string' },
      fresh: { type: 'boolean', default: false },
      'report-only': { type: 'boolean', default: false },
    },
  });
  const mode = values.mode as Mode;
  if (!MODES[mode]) throw new Error(`--mode must be one of ${Object.keys(MODES).join(', ')}`);
  const s: Settings = { ...MODES[mode] };
  const num = (v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`not a number: ${v}`);
    return n;
  };
  const list = (v: string | undefined): number[] | undefined => (v === undefined ? undefined : v === '' ? [] : v.split(',').map(Number));
  s.ks = list(values.ks) ?? s.ks;
  s.samples = num(values.samples) ?? s.samples;
  s.iterations = num(values.iterations) ?? s.iterations;
  s.metaK = num(values['meta-k']) ?? s.metaK;
  s.testLimit = num(values['test-limit']) ?? s.testLimit;
  s.seed = num(values.seed) ?? s.seed;
  s.adaptLr = num(values['adapt-lr']) ?? s.adaptLr;
  s.adaptEpochs = num(values['adapt-epochs']) ?? s.adaptEpochs;
  if (values['eval-split'] !== undefined) {
    if (values['eval-split'] !== 'test' && values['eval-split'] !== 'devel') throw new Error('--eval-split must be test or devel');
    s.evalSplit = values['eval-split'];
  }
  s.adaptMaxSteps = num(values['adapt-max-steps']) ?? s.adaptMaxSteps;
  s.mtlMaxTrainSentences = num(values['mtl-max-train-sentences']) ?? s.mtlMaxTrainSentences;
  s.mtlEpochs = num(values['mtl-epochs']) ?? s.mtlEpochs;
  s.extendKs = list(values['extend-ks']) ?? s.extendKs;
  const methods = (values.methods ? values.methods.split(',') : [...METHODS]) as Method[];
  for (const m of methods) if (!METHODS.includes(m)) throw new Error(`unknown method ${m}; methods: ${METHODS.join(', ')}`);
  const targets = values.targets ? values.targets.split(',') : Object.keys(DOMAINS);
  for (const t of targets) if (!DOMAINS[t]) throw new Error(`unknown target domain ${t}; domains: ${Object.keys(DOMAINS).join(', ')}`);
  const workers = num(values.workers) ?? 0;
  const workDir = values['work-dir'] ? path.resolve(values['work-dir']) : path.join(packageRoot(), 'out', 'fewshot', `${s.mode}-${runKey(s)}`);
  return {
    settings: s,
    methods,
    targets,
    workers,
    workDir,
    initDir: values['init-dir'] ? path.resolve(values['init-dir']) : values['work-dir'] ? path.join(workDir, 'inits') : path.join(packageRoot(), 'out', 'fewshot', `inits-${initKey(s)}`),
    outDir: values.out ? path.resolve(values.out) : path.join(packageRoot(), 'docs', 'results'),
    fresh: values.fresh,
    reportOnly: values['report-only'],
  };
}
