/**
 * bench:engine — training-step time (batch 5, 10, 32), first-order meta-iteration time and inference
 * tokens/s of our TF.js tagger against the same model in PyTorch, on the same sentences, one after the other;
 * then the parallel section (engine-parallel.ts): 1 worker and every core, against PyTorch with 1 and as many
 * intra-op threads. Writes docs/results/engine.json and engine.md. Not a test: it prints numbers, it does not pass or fail.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { corporaRoot, fixturesRoot } from '../training/data/corpora';
import { loadSplit } from '../training/data/corpora';
import type { Sentence } from '../training/data/types';
import { BackendChoice, initBackend } from '../training/engine/backend';
import { writeFileAtomic } from '../training/io/atomic';
import { fomamlIteration, MetaTask } from '../training/meta/fomaml';
import { allowedFromTags } from '../training/model/crf-math';
import { Batch, Featurizer } from '../training/model/features';
import { decode, DEFAULT_SHAPE, initParams, TaggerShape } from '../training/model/tagger';
import { CharVocab, TagSet } from '../training/model/vocab';
import { AdamW } from '../training/train/optimizer';
import { pick, supervisedStep } from '../training/train/step';
import { Rng } from '../training/util/random';
import { HashedVectors } from '../test/helpers/hashed-vectors';
import { defaultWorkers } from '../training/parallel/worker-entry';
import { EpochTiming, timeShippedEpoch } from './engine-epoch';
import { measureParallel, ParallelNumbers } from './engine-parallel';

const BATCH_SIZES = [5, 10, 32];
const WARMUP = 3;
const REPEATS = 20;
const INFER_BATCH = 64;
const SENTENCES = 640;

interface EngineNumbers {
  train_step_ms: Record<string, number>;
  meta_iteration_ms: number;
  infer_tokens_per_s: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function loadSentences(): { sentences: Sentence[]; source: string } {
  for (const root of [corporaRoot(), fixturesRoot()]) {
    try {
      return { sentences: loadSplit(root, 'NCBI-disease', 'train').slice(0, SENTENCES), source: path.join(root, 'NCBI-disease/train.tsv') };
    } catch {
      // try the next root
    }
  }
  throw new Error('NCBI-disease train split not found in the corpora root or the test fixtures');
}

async function measureOurs(sentences: Sentence[], tagSet: TagSet, chars: CharVocab, backend: BackendChoice): Promise<{ backend: string; numbers: EngineNumbers }> {
  const info = await initBackend(backend);
  const words = new HashedVectors(100);
  const featurizer = new Featurizer(words, chars, DEFAULT_SHAPE.maxWordChars);
  const shape: TaggerShape = { ...DEFAULT_SHAPE, wordDim: 100, charVocabSize: chars.size, numTags: tagSet.size, numDomains: 0 };
  const vars = initParams(shape, 1);
  const opt = new AdamW(vars);
  const rng = new Rng(1);
  // Batches are built before timing: the PyTorch side also times the model step only.
  const prepare = (part: Sentence[]): { batch: Batch; allowed: Uint8Array } => {
    const batch = featurizer.batch(part.map((s) => s.tokens));
    const tags = new Int32Array(batch.B * batch.T);
    part.forEach((s, b) => s.tags.forEach((t, i) => (tags[b * batch.T + i] = tagSet.id(t))));
    return { batch, allowed: allowedFromTags(tags, batch.B, batch.T, tagSet.size, batch.lengths) };
  };
  const trainStep: Record<string, number> = {};
  for (const B of BATCH_SIZES) {
    const times: number[] = [];
    for (let r = 0; r < WARMUP + REPEATS; r++) {
      const start = (r * B) % (sentences.length - B);
      const { batch, allowed } = prepare(sentences.slice(start, start + B));
      const t0 = performance.now();
      supervisedStep(vars, shape, batch, allowed, opt, 1e-3, 0.5, rng);
      if (r >= WARMUP) times.push(performance.now() - t0);
    }
    trainStep[String(B)] = median(times);
  }
  const metaTimes: number[] = [];
  const wrt = pick(vars, ['enc.', 'dec.']);
  for (let r = 0; r < WARMUP + Math.ceil(REPEATS / 2); r++) {
    const tasks: MetaTask[] = [];
    for (let k = 0; k < 4; k++) {
      const start = ((r * 4 + k) * 10) % (sentences.length - 10);
      tasks.push({ support: prepare(sentences.slice(start, start + 5)), query: prepare(sentences.slice(start + 5, start + 10)) });
    }
    const t0 = performance.now();
    fomamlIteration(vars, wrt, shape, tasks, opt, { innerSteps: 3, innerLr: 0.01, outerLr: 1e-3, dropout: 0.5, weighting: 'uniform' }, rng);
    if (r >= WARMUP) metaTimes.push(performance.now() - t0);
  }
  const inferBatches = [];
  for (let i = 0; i < sentences.length; i += INFER_BATCH) inferBatches.push(featurizer.batch(sentences.slice(i, i + INFER_BATCH).map((s) => s.tokens)));
  const tokens = sentences.reduce((n, s) => n + s.tokens.length, 0);
  let best = 0;
  for (let pass = 0; pass < 4; pass++) {
    const t0 = performance.now();
    for (const b of inferBatches) decode(vars, shape, b);
    const rate = tokens / ((performance.now() - t0) / 1000);
    if (pass > 0) best = Math.max(best, rate);
  }
  opt.dispose();
  Object.values(vars).forEach((v) => v.dispose());
  if (tf.memory().numTensors > 0) process.stderr.write(`note: ${tf.memory().numTensors} tensors left after the benchmark\n`);
  return { backend: info.name, numbers: { train_step_ms: trainStep, meta_iteration_ms: median(metaTimes), infer_tokens_per_s: best } };
}

function measurePyTorch(sentences: Sentence[], tagSet: TagSet, chars: CharVocab, threads: number, blasThreads = 1): { numbers?: EngineNumbers; backend?: string; skipped?: string } {
  const python = '/usr/bin/python3';
  if (!fs.existsSync(python)) return { skipped: `${python} not found` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metabioner-bench-'));
  const dataFile = path.join(dir, 'data.json');
  const outFile = path.join(dir, 'out.json');
  fs.writeFileSync(
    dataFile,
    JSON.stringify({
      n_tags: tagSet.size,
      n_chars: chars.size,
      sentences: sentences.map((s) => ({ chars: s.tokens.map((t) => [...t].slice(0, DEFAULT_SHAPE.maxWordChars).map((c) => chars.idOf(c))), tags: s.tags.map((t) => tagSet.id(t)) })),
      batch_sizes: BATCH_SIZES,
      infer_batch: INFER_BATCH,
      warmup: WARMUP,
      repeats: REPEATS,
    }),
  );
  // The machine's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE guard old OpenBLAS builds and slow this one (a 256×512×512
  // matMul 1.3 ms with them, 0.7 ms without): unset for the reference, as for any numerical comparison of speed.
  const { OPENBLAS_CORETYPE: _c, OPENBLAS_L2_SIZE: _l, ...env } = process.env;
  const res = spawnSync(python, [path.join(__dirname, 'pytorch_reference.py'), 'bench', '--data', dataFile, '--out', outFile], {
    env: { ...env, OPENBLAS_NUM_THREADS: String(blasThreads), METABIONER_TORCH_THREADS: String(threads) },
    stdio: ['ignore', 'inherit', 'pipe'],
    encoding: 'utf8',
  });
  if (res.status === 3) return { skipped: res.stderr.trim() || 'python3-torch is not installed' };
  if (res.status !== 0) return { skipped: `PyTorch reference failed (exit ${res.status}): ${res.stderr.trim().split('\n').slice(-3).join(' ')}` };
  const out = JSON.parse(fs.readFileSync(outFile, 'utf8')) as EngineNumbers & { backend: string };
  fs.rmSync(dir, { recursive: true, force: true });
  return { backend: out.backend, numbers: { train_step_ms: out.train_step_ms, meta_iteration_ms: out.meta_iteration_ms, infer_tokens_per_s: out.infer_tokens_per_s } };
}

async function main(): Promise<void> {
  const backendArg = process.argv.indexOf('--backend');
  const backend = (backendArg > 0 ? process.argv[backendArg + 1] : 'auto') as BackendChoice;
  const { sentences, source } = loadSentences();
  const tagSet = new TagSet(['Disease']);
  const chars = CharVocab.build(sentences.flatMap((s) => s.tokens));
  process.stderr.write(`bench:engine on ${sentences.length} sentences of ${source}\n`);
  const workersArg = process.argv.indexOf('--workers');
  const workers = workersArg > 0 ? Number(process.argv[workersArg + 1]) : defaultWorkers();
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' / ');
  const wallStart = Date.now();
  const ours = await measureOurs(sentences, tagSet, chars, backend);
  process.stderr.write(`parallel section: 1 and ${workers} workers\n`);
  const parallel = await measureParallel(sentences, tagSet, chars, workers, [10, 32]);
  // PyTorch with N threads: torch's intra-op threads, with OpenBLAS on 1 thread and on N; the faster per measure.
  const torch = bestOf(measurePyTorch(sentences, tagSet, chars, workers), workers > 1 ? measurePyTorch(sentences, tagSet, chars, workers, workers) : undefined);
  const torch1 = workers > 1 ? measurePyTorch(sentences, tagSet, chars, 1) : torch;
  const epochArg = process.argv.indexOf('--epoch-steps');
  const epochSteps = epochArg > 0 ? Number(process.argv[epochArg + 1]) : 500;
  const epoch = epochSteps >= 0 ? await timeShippedEpoch([...new Set([1, workers])], epochSteps) : undefined;
  const wallMinutes = (Date.now() - wallStart) / 60000;
  const rows: [string, string, string, string][] = [];
  const fmt = (x: number | undefined, digits = 1) => (x === undefined ? '—' : x.toFixed(digits));
  for (const B of BATCH_SIZES) {
    const o = ours.numbers.train_step_ms[String(B)];
    const p = torch.numbers?.train_step_ms[String(B)];
    rows.push([`training step, batch ${B} (ms)`, fmt(o), fmt(p), p ? `${(o / p).toFixed(2)}× slower` : '—']);
  }
  const om = ours.numbers.meta_iteration_ms;
  const pm = torch.numbers?.meta_iteration_ms;
  rows.push(['FOMAML iteration, 4 tasks × 3 inner steps (ms)', fmt(om), fmt(pm), pm ? `${(om / pm).toFixed(2)}× slower` : '—']);
  const oi = ours.numbers.infer_tokens_per_s;
  const pi = torch.numbers?.infer_tokens_per_s;
  rows.push(['inference, batch 64 (tokens/s)', fmt(oi, 0), fmt(pi, 0), pi ? `${(oi / pi).toFixed(2)}× of PyTorch` : '—']);
  const header = `| measure | ours (${ours.backend}) | PyTorch (${torch.backend ?? 'skipped'}) | ratio |`;
  const table = [header, '| --- | ---: | ---: | --- |', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  const report = parallelReport(parallel, workers, torch1.numbers, torch.numbers);
  const parallelJson = { ...report.json, shipped_epoch: epoch ?? null };
  const parallelTable = report.table + (epoch ? `\n\n${epochTable(epoch)}` : '');
  const command = `npm run bench:engine${backend !== 'auto' ? ` -- --backend ${backend}` : ''}`;
  process.stdout.write(`\n${table}\n\n${parallelTable}\n${torch.skipped ? `\nPyTorch skipped: ${torch.skipped}\n` : ''}`);
  const results = path.join(__dirname, '..', 'docs', 'results');
  const json = { backend: ours.backend, command, cpu: os.cpus()[0]?.model, date: new Date().toISOString(), sentences: sentences.length, source: path.basename(path.dirname(source)), ours: ours.numbers, pytorch: torch.numbers ?? null, pytorch_skipped: torch.skipped ?? null, parallel: parallelJson, load_average_at_start: load, wall_minutes: wallMinutes };
  writeFileAtomic(path.join(results, 'engine.json'), JSON.stringify(json, null, 1) + '\n');
  writeFileAtomic(
    path.join(results, 'engine.md'),
    `# Engine benchmark\n\nCommand: \`${command}\` (${json.date}, ${json.cpu}, ${os.cpus().length} cores).\n` +
      `The same BiLSTM-CNN-CRF (word 100 + char-CNN 50, BiLSTM 2×128, CRF) on the first ${sentences.length} sentences of ${json.source} train, ` +
      `medians over ${REPEATS} steps after ${WARMUP} warm-up steps; PyTorch runs with ${workers} torch threads (OpenBLAS on 1 and on ${workers} threads, the faster per measure; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset). ` +
      `Load average at the start (1 / 5 / 15 min): ${load}; wall time ${wallMinutes.toFixed(1)} min.\n\n${table}\n\n` +
      `## Every core\n\nThroughput of whole steps with 1 worker and with ${workers} (one per core): training (featurizing, gradients of the batch's shards on the workers, ` +
      `AdamW, publishing the weights), first-order meta-iterations (4 tasks of K = 5, 3 inner steps, tasks spread over the workers) and tagging ` +
      `with the shipped model (a pool of tagging workers, span confidences included; PyTorch: Viterbi only). PyTorch with 1 and ${workers} intra-op threads ` +
      `(\`torch.set_num_threads\`) on the same model and sentences.\n\n${parallelTable}\n` +
      (torch.skipped ? `\nPyTorch skipped: ${torch.skipped}\n` : ''),
  );
}

type TorchNumbers = EngineNumbers | undefined;
type TorchRun = ReturnType<typeof measurePyTorch>;

/** Per measure, the faster of two PyTorch runs (fewer ms, more tokens/s). */
function bestOf(a: TorchRun, b: TorchRun | undefined): TorchRun {
  if (!b?.numbers || !a.numbers) return a.numbers ? a : (b ?? a);
  const x = a.numbers;
  const y = b.numbers;
  const steps = Object.fromEntries(Object.keys(x.train_step_ms).map((k) => [k, Math.min(x.train_step_ms[k], y.train_step_ms[k] ?? Infinity)]));
  return { ...a, numbers: { train_step_ms: steps, meta_iteration_ms: Math.min(x.meta_iteration_ms, y.meta_iteration_ms), infer_tokens_per_s: Math.max(x.infer_tokens_per_s, y.infer_tokens_per_s) } };
}

function epochTable(rows: EpochTiming[]): string {
  const one = rows.find((r) => r.workers === 1);
  return [
    '| one epoch of the shipped model (unified tagger, all 7 corpora) | steps timed | minutes per epoch | speed-up |',
    '| --- | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.workers} worker${r.workers > 1 ? 's' : ''} | ${r.steps_timed} of ${r.steps_per_epoch} | ${(r.epoch_seconds / 60).toFixed(1)} | ${one ? `${(one.epoch_seconds / r.epoch_seconds).toFixed(2)}×` : '—'} |`),
  ].join('\n');
}

/** The parallel section's JSON (the keys "1" and "N" are worker counts) and its table. */
function parallelReport(p: ParallelNumbers, workers: number, torch1: TorchNumbers, torchN: TorchNumbers): { json: Record<string, unknown>; table: string } {
  const perSecond = (ms: number | undefined, per = 1) => (ms ? (1000 * per) / ms : undefined);
  const torch = (t: TorchNumbers) =>
    t && {
      train_sentences_per_s: perSecond(t.train_step_ms['10'], 10),
      train_sentences_per_s_by_batch: { '10': perSecond(t.train_step_ms['10'], 10), '32': perSecond(t.train_step_ms['32'], 32) },
      meta_iterations_per_s: perSecond(t.meta_iteration_ms),
      tag_tokens_per_s: t.infer_tokens_per_s,
    };
  const json = {
    workers,
    train_sentences_per_s: p.train_sentences_per_s['10'],
    train_sentences_per_s_by_batch: p.train_sentences_per_s,
    meta_iterations_per_s: p.meta_iterations_per_s,
    tag_tokens_per_s: p.tag_tokens_per_s,
    rss_mib_per_worker: p.rss_mib_per_worker,
    pytorch: torchN ? { threads: workers, ...torch(torchN), threads_1: torch(torch1) } : null,
  };
  const f = (x: number | undefined, d = 1) => (x === undefined ? '—' : x.toFixed(d));
  const speedup = (r: Record<string, number>) => (r.N && r['1'] ? `${(r.N / r['1']).toFixed(2)}×` : '—');
  const t1 = torch(torch1);
  const tN = torch(torchN);
  const row = (what: string, r: Record<string, number>, p1: number | undefined, pN: number | undefined, d = 1) =>
    `| ${what} | ${f(r['1'], d)} | ${f(r.N, d)} | ${speedup(r)} | ${f(p1, d)} | ${f(pN, d)} | ${pN && r.N ? `${(r.N / pN).toFixed(2)}×` : '—'} |`;
  const table = [
    `| measure | ours, 1 worker | ours, ${workers} workers | speed-up | PyTorch, 1 thread | PyTorch, ${workers} threads | ours ${workers} / PyTorch ${workers} |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    row('training, batch 10 (sentences/s)', p.train_sentences_per_s['10'], t1?.train_sentences_per_s_by_batch['10'], tN?.train_sentences_per_s_by_batch['10']),
    row('training, batch 32 (sentences/s)', p.train_sentences_per_s['32'], t1?.train_sentences_per_s_by_batch['32'], tN?.train_sentences_per_s_by_batch['32']),
    row('meta-iterations/s (4 tasks × 3 inner steps)', p.meta_iterations_per_s, t1?.meta_iterations_per_s, tN?.meta_iterations_per_s, 2),
    row('tagging (tokens/s)', p.tag_tokens_per_s, t1?.tag_tokens_per_s, tN?.tag_tokens_per_s, 0),
    `| resident memory per extra worker (MiB) | | ${f(p.rss_mib_per_worker, 0)} | | | | |`,
  ].join('\n');
  return { json, table };
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
