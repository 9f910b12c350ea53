/**
 * bench:fewshot's initialisations, each trained once per held-out domain (and meta-training K) and kept as a
 * model directory under the run's work directory; a training run killed half-way continues from its checkpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadSplit } from '../training/data/corpora';
import type { Sentence } from '../training/data/types';
import type { EmbeddingTable } from '../training/embeddings/store';
import { hardnessLine } from '../training/meta/hardness-log';
import { trainMtlInit } from '../training/meta/lodo-init';
import { HardnessRecord, META_METHODS, MetaMethod, metaTrain, MetaTrainStart } from '../training/meta/meta-train';
import { metaTrainingCorpora } from '../training/meta/tasks';
import { loadModel, saveModel } from '../training/model/model-io';
import type { NerModel } from '../training/model/ner-model';
import { CharVocab } from '../training/model/vocab';
import type { InitSource } from '../training/parallel/fewshot-pool';
import type { Method, Settings } from './fewshot-settings';
import type { TimeBook } from './fewshot-store';

export interface RunContext {
  root: string;
  available: string[];
  settings: Settings;
  /** Where models, checkpoints and hardness logs live (see Invocation.initDir). */
  initDir: string;
  workers: number;
  wordsFile: string;
  words: EmbeddingTable;
  times: TimeBook;
  log: (msg: string) => void;
}

/** Whether a method's initialisation is meta-trained (once per meta-training K). */
export const isMetaTrained = (m: Method): boolean => m === 'mtl+metabioner' || (META_METHODS as readonly string[]).includes(m);

/** Meta-trainings that weight tasks by hardness, whose γ the run logs. */
export const logsHardness = (m: Method): boolean => m === 'metabioner' || m === 'mtl+metabioner';

const slug = (s: string): string => s.replace(/\W+/g, '');

/** Name of an initialisation inside the work directory (models/, checkpoints/, hardness/, times). */
export function initName(method: Method, target: string, metaK: number): string {
  return isMetaTrained(method) ? `${method}-${slug(target)}-k${metaK}` : `${method}-${slug(target)}`;
}

export const hardnessLogFile = (ctx: Pick<RunContext, 'initDir'>, name: string): string => path.join(ctx.initDir, 'hardness', `${name}.jsonl`);

function sourceData(ctx: RunContext, target: string): Record<string, Sentence[]> {
  return Object.fromEntries(metaTrainingCorpora(target, ctx.available).map((c) => [c, loadSplit(ctx.root, c, 'train')]));
}

/** The mtl initialisation's directory, trained first if missing. */
async function mtlDir(ctx: RunContext, target: string): Promise<string> {
  const name = initName('mtl', target, 0);
  const dir = path.join(ctx.initDir, 'models', name);
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return dir;
  const s = ctx.settings;
  const checkpointDir = path.join(ctx.initDir, 'checkpoints', name);
  let lastLog = 0;
  const model = await trainMtlInit(
    ctx.root,
    target,
    ctx.words,
    { maxTrainSentences: s.mtlMaxTrainSentences, epochs: s.mtlEpochs, patience: s.mtlPatience, seed: s.seed },
    {
      workers: ctx.workers,
      checkpointDir,
      checkpointMinutes: 10,
      onProgress: (stage, p) => {
        if (p.phase === 'eval' && p.develF1 !== undefined) ctx.log(`${name}: epoch ${p.epoch} mean devel F1 ${p.develF1.toFixed(4)} (${p.elapsedSeconds.toFixed(0)} s)`);
        else if (p.phase === 'train' && Date.now() - lastLog > 60_000) {
          lastLog = Date.now();
          ctx.log(`${name}: ${stage} epoch ${p.epoch}/${p.epochs} step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)}`);
        }
      },
    },
  );
  model.info.command = `bench:fewshot (${s.mode}) mtl initialisation for ${target}`;
  saveModel(model, dir);
  ctx.times.setInit(name, Number(model.info.metrics?.trainSeconds ?? 0));
  model.dispose();
  fs.rmSync(checkpointDir, { recursive: true, force: true });
  return dir;
}

/** A meta-trained initialisation's directory (from scratch, or from the mtl encoder), trained first if missing. */
async function metaDir(ctx: RunContext, method: Method, target: string, metaK: number): Promise<string> {
  const name = initName(method, target, metaK);
  const dir = path.join(ctx.initDir, 'models', name);
  if (fs.existsSync(path.join(dir, 'manifest.json'))) return dir;
  const s = ctx.settings;
  const checkpointDir = path.join(ctx.initDir, 'checkpoints', name);
  let start: MetaTrainStart | undefined;
  if (method === 'mtl+metabioner') start = { model: loadModel(await mtlDir(ctx, target)) };
  const logFile = logsHardness(method) ? hardnessLogFile(ctx, name) : undefined;
  if (logFile) fs.mkdirSync(path.dirname(logFile), { recursive: true });
  let lastLog = 0;
  let model: NerModel;
  try {
    ({ model } = await metaTrain(
      sourceData(ctx, target),
      start?.model.words ?? ctx.words,
      { method: method === 'mtl+metabioner' ? 'metabioner' : (method as MetaMethod), k: metaK, iterations: s.iterations, tasksPerIteration: s.tasksPerIteration, innerSteps: s.innerSteps, innerLr: s.innerLr, outerLr: s.outerLr, seed: s.seed },
      {
        workers: ctx.workers,
        checkpointDir,
        checkpointEvery: 100,
        onIteration: (r: HardnessRecord, p) => {
          if (logFile) fs.appendFileSync(logFile, JSON.stringify(hardnessLine(r)) + '\n');
          if (Date.now() - lastLog < 30_000 && p.iteration !== p.iterations) return;
          lastLog = Date.now();
          const loss = r.tasks.reduce((a, t) => a + t.labelLoss, 0) / r.tasks.length;
          ctx.log(`${name}: iteration ${p.iteration}/${p.iterations} query loss ${loss.toFixed(3)} (${p.elapsedSeconds.toFixed(0)} s)`);
        },
      },
      start,
    ));
  } finally {
    start?.model.dispose();
  }
  model.info.command = `bench:fewshot (${s.mode}) ${method} initialisation for ${target}`;
  saveModel(model, dir);
  ctx.times.setInit(name, Number(model.info.metrics?.seconds ?? 0));
  model.dispose();
  fs.rmSync(checkpointDir, { recursive: true, force: true });
  return dir;
}

/** Where meta-testing of `method` for `target` starts, in the form every worker thread can rebuild. */
export async function ensureInit(ctx: RunContext, method: Method, target: string, metaK: number): Promise<InitSource> {
  if (method === 'scratch') {
    const tokens = Object.values(sourceData(ctx, target)).flatMap((c) => c.flatMap((x) => x.tokens));
    return { kind: 'scratch', wordsFile: ctx.wordsFile, chars: CharVocab.build(tokens, 2).chars, hidden: 128, layers: 1, seed: ctx.settings.seed };
  }
  if (method === 'mtl') return { kind: 'model', dir: await mtlDir(ctx, target) };
  return { kind: 'model', dir: await metaDir(ctx, method, target, metaK) };
}
