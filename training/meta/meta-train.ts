import type { Sentence } from '../data/types';
import type { WordVectors } from '../model/features';
import { NerModel } from '../model/ner-model';
import { DEFAULT_SHAPE, groupOf, initParams, TaggerShape } from '../model/tagger';
import { CharVocab, TagSet } from '../model/vocab';
import { allowedMask } from '../train/labels';
import { AdamW, DEFAULT_ADAMW, linearSchedule } from '../train/optimizer';
import { disposeCheckpoint, hasCheckpoint, loadCheckpoint, resumeInto, saveCheckpoint, trainingTensors } from '../train/checkpoint';
import { pick } from '../train/step';
import { Rng } from '../util/random';
import { ComputePool } from '../parallel/compute-pool';
import { FomamlOptions, MetaTask, metaUpdate, TaskPart, taskSeeds } from './fomaml';
import { TaskHardness } from './hardness';
import { domainOf, FewShotTask, sampleTask } from './tasks';

export type MetaMethod = 'metabioner' | 'metaner' | 'maml' | 'metabioner-nes';
export const META_METHODS: readonly MetaMethod[] = ['metabioner', 'metaner', 'maml', 'metabioner-nes'];

/** The one flag apart between the method and its baselines (paper §4). */
export function methodSettings(method: MetaMethod, lambda: number): Pick<FomamlOptions, 'weighting' | 'lambda'> & { supportWithEntities: boolean } {
  switch (method) {
    case 'metabioner':
      return { weighting: 'hardness', lambda, supportWithEntities: false };
    case 'metaner':
      return { weighting: 'uniform', lambda, supportWithEntities: false };
    case 'maml':
      return { weighting: 'uniform', lambda: 0, supportWithEntities: false };
    case 'metabioner-nes':
      return { weighting: 'uniform', lambda, supportWithEntities: true };
  }
}

/**
 * Meta-training tags entities without their type (the paper's B/I/O schema): a generic entity type shared
 * by every source corpus, so that the meta-learned decoder is about entity boundaries, and the target domain
 * gets its own decoder at adaptation time.
 */
export const GENERIC_TYPE = 'Entity';

export function untyped(s: Sentence): Sentence {
  return { ...s, tags: s.tags.map((t) => (t === 'O' ? 'O' : `${t.slice(0, 2)}${GENERIC_TYPE}`)) };
}

export interface MetaTrainOptions {
  method: MetaMethod;
  k: number;
  iterations: number;
  tasksPerIteration: number;
  innerSteps: number;
  innerLr: number;
  outerLr: number;
  lambda: number;
  dropout: number;
  seed: number;
  hidden: number;
  layers: number;
}

export const DEFAULT_META: MetaTrainOptions = {
  method: 'metabioner',
  k: 5,
  iterations: 1000,
  tasksPerIteration: 4,
  innerSteps: 3,
  innerLr: 0.01,
  outerLr: 1e-3,
  lambda: 1,
  dropout: 0.5,
  seed: 1,
  hidden: DEFAULT_SHAPE.hidden,
  layers: DEFAULT_SHAPE.layers,
};

/** What one meta-iteration did, for hardness tables (paper Tables 1 and 4) and loss curves. */
export interface HardnessRecord {
  iteration: number;
  tasks: {
    corpus: string;
    domain: string;
    support: Pick<Sentence, 'tokens' | 'tags'>[];
    /** The query set, whose loss γ is the share of: its entities and the tokens inside them. */
    query: QueryStats;
    labelLoss: number;
    criticLoss: number;
  }[];
  weights: TaskHardness;
}

export interface QueryStats {
  sentences: number;
  tokens: number;
  entities: number;
  entityTokens: number;
}

export function queryStats(sentences: readonly Pick<Sentence, 'tags'>[]): QueryStats {
  let tokens = 0;
  let entities = 0;
  let entityTokens = 0;
  for (const s of sentences) {
    tokens += s.tags.length;
    for (const t of s.tags) {
      if (t.startsWith('B-')) entities++;
      if (t !== 'O') entityTokens++;
    }
  }
  return { sentences: sentences.length, tokens, entities, entityTokens };
}

/**
 * Where meta-training starts instead of a fresh tagger: a trained tagger (e.g. the multi-task one) whose encoder θ
 * and character vocabulary are copied; the generic decoder and the critic start fresh. Its sizes (hidden units,
 * layers) replace those of the options.
 */
export interface MetaTrainStart {
  model: NerModel;
}

export interface MetaTrainHooks {
  onIteration?: (record: HardnessRecord, progress: { iteration: number; iterations: number; elapsedSeconds: number }) => void;
  signal?: AbortSignal;
  /**
   * Where to keep a checkpoint (every `checkpointEvery` iterations, on cancellation and at the end). When it
   * already holds one, training resumes from it with the options it was started with.
   */
  checkpointDir?: string;
  checkpointEvery?: number;
  /**
   * Threads adapting the tasks of an iteration in parallel (default 1); the iteration equals the one-thread
   * iteration (each task has its own dropout seed). Not kept in checkpoints: a run may resume with another count.
   */
  workers?: number;
}

const CHECKPOINT_KIND = 'meta';

/**
 * Meta-trains a tagger's encoder (and generic decoder and critic) on few-shot tasks drawn from the source
 * corpora (each task from one corpus; corpora drawn uniformly). `corpora` maps a source corpus to its train
 * sentences; the caller leaves the target domain's corpora out (see metaTrainingCorpora). With `start`, the
 * encoder starts from that model's (its manifest's `trainedOn` is carried over into the result's).
 */
export async function metaTrain(
  corpora: Readonly<Record<string, readonly Sentence[]>>,
  words: WordVectors,
  options: Partial<MetaTrainOptions> = {},
  hooks: MetaTrainHooks = {},
  start?: MetaTrainStart,
): Promise<{ model: NerModel; iterations: number; cancelled: boolean }> {
  const resume = hasCheckpoint(hooks.checkpointDir) ? loadCheckpoint<{ iteration: number; seconds: number }>(hooks.checkpointDir, CHECKPOINT_KIND) : undefined;
  const o: MetaTrainOptions = resume ? { ...DEFAULT_META, ...(resume.options as Partial<MetaTrainOptions>) } : { ...DEFAULT_META, ...options };
  if (start) {
    if (start.model.shape.wordDim !== words.dim) throw new Error(`the start model has ${start.model.shape.wordDim}-d word vectors, these are ${words.dim}-d`);
    o.hidden = start.model.shape.hidden;
    o.layers = start.model.shape.layers;
  }
  const names = Object.keys(corpora);
  if (names.length === 0) throw new Error('meta-training needs at least one source corpus');
  const domains = [...new Set(names.map((c) => domainOf(c) ?? c))];
  let rng = new Rng(o.seed);
  const tagSet = new TagSet([GENERIC_TYPE]);
  const chars = start ? start.model.chars : CharVocab.build(names.flatMap((c) => corpora[c].flatMap((s) => s.tokens)), 2);
  // The encoder's sizes: the start model's, or the options'.
  const sizes = start ? start.model.shape : { ...DEFAULT_SHAPE, hidden: o.hidden, layers: o.layers, wordDim: words.dim, charVocabSize: chars.size };
  const shape: TaggerShape = { ...sizes, numTags: tagSet.size, numDomains: domains.length };
  const params = initParams(shape, rng.seed());
  if (start) for (const [name, v] of Object.entries(start.model.params)) if (groupOf(name) === 'enc') params[name].assign(v);
  const trainedOn = [...new Set([...(start?.model.info.trainedOn ?? []), ...names.map((c) => `${c}/train`)])];
  const info = { name: start ? `meta-${o.method}-k${o.k}+${start.model.info.name}` : `meta-${o.method}-k${o.k}`, created: new Date().toISOString(), trainedOn, hyper: { ...o, ...(start ? { start: start.model.info.name } : {}) } };
  const model = new NerModel(shape, tagSet, chars, words, params, info, domains);
  const optimizer = new AdamW(params, { ...DEFAULT_ADAMW, clipNorm: 5 });
  const wrt = pick(params, o.lambda > 0 && o.method !== 'maml' ? ['enc.', 'dec.', 'critic.'] : ['enc.', 'dec.']);
  const settings = methodSettings(o.method, o.lambda);
  let first = 1;
  let before = 0;
  if (resume) {
    try {
      resumeInto(resume, hooks.checkpointDir as string, params, optimizer);
    } finally {
      disposeCheckpoint(resume);
    }
    rng = new Rng(resume.rngState);
    first = resume.progress.iteration + 1;
    before = resume.progress.seconds;
  }
  const started = Date.now() - before * 1000;
  const checkpoint = (iteration: number): void => {
    if (!hooks.checkpointDir) return;
    saveCheckpoint(hooks.checkpointDir, {
      kind: CHECKPOINT_KIND,
      progress: { iteration, seconds: (Date.now() - started) / 1000 },
      rngState: rng.state,
      optimizerSteps: optimizer.steps,
      options: { ...o },
      tensors: trainingTensors(params, optimizer),
    });
  };
  const part = (sentences: Sentence[], corpus: string): TaskPart => {
    const batch = model.featurizer.batch(sentences.map((s) => s.tokens));
    const items = sentences.map((s) => ({ sentence: untyped(s), annotatedTypes: [GENERIC_TYPE], corpus }));
    const domain = domains.indexOf(domainOf(corpus) ?? corpus);
    return { batch, allowed: allowedMask(items, tagSet, batch), domains: new Int32Array(sentences.length).fill(domain) };
  };
  let done = first - 1;
  let cancelled = false;
  const workers = Math.max(1, Math.min(hooks.workers ?? 1, o.tasksPerIteration));
  let pool: ComputePool | undefined;
  try {
    pool = await ComputePool.start({ workers, shape, vars: params, tasksPerThread: Math.ceil(o.tasksPerIteration / workers) });
    for (let it = first; it <= o.iterations; it++) {
      if (hooks.signal?.aborted) {
        cancelled = true;
        break;
      }
      const sampled: FewShotTask[] = [];
      for (let m = 0; m < o.tasksPerIteration; m++) {
        const corpus = names[rng.int(names.length)];
        sampled.push(sampleTask(corpus, corpora[corpus], o.k, rng, { supportWithEntities: settings.supportWithEntities }));
      }
      const tasks: MetaTask[] = sampled.map((t) => ({ support: part(t.support, t.corpus), query: part(t.query, t.corpus) }));
      const fomaml: FomamlOptions = { innerSteps: o.innerSteps, innerLr: o.innerLr, outerLr: linearSchedule(o.outerLr, it - 1, o.iterations), dropout: o.dropout, ...settings };
      const outcomes = await pool.metaTasks(tasks, taskSeeds(tasks.length, rng), wrt, { ...fomaml, lambda: fomaml.lambda ?? 0 });
      const r = metaUpdate(outcomes, optimizer, fomaml);
      pool.publish(Object.keys(wrt));
      done = it;
      hooks.onIteration?.(
        {
          iteration: it,
          tasks: sampled.map((t, i) => ({ corpus: t.corpus, domain: domainOf(t.corpus) ?? t.corpus, support: t.support.map((s) => ({ tokens: s.tokens, tags: s.tags })), query: queryStats(t.query), labelLoss: r.queryLabelLosses[i], criticLoss: r.queryCriticLosses[i] })),
          weights: r.weights,
        },
        { iteration: it, iterations: o.iterations, elapsedSeconds: (Date.now() - started) / 1000 },
      );
      if (hooks.checkpointEvery && it % hooks.checkpointEvery === 0 && it < o.iterations) checkpoint(it);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    checkpoint(done);
  } finally {
    pool?.close();
    optimizer.dispose();
  }
  model.info.metrics = { iterations: done, cancelled, seconds: (Date.now() - started) / 1000 };
  return { model, iterations: done, cancelled };
}
