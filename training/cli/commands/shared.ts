import * as path from 'node:path';
import { corporaRoot } from '../../data/corpora';
import { ensureEmbeddings } from '../../embeddings/cache';
import { EmbeddingTable } from '../../embeddings/store';
import { cacheDir } from '../../io/paths';
import { loadCorpora, LoadedCorpus } from '../../train/training-data';
import { TAG_SCHEMES, TagScheme } from '../../model/vocab';
import { resolveWorkers } from '../../parallel/worker-entry';
import { intOption, OptionSpec, startBackend, UsageError } from '../command';
import { ProgressLine } from '../progress';

export const WORD_VECTOR_OPTIONS: Record<string, OptionSpec> = {
  embeddings: { type: 'string', description: 'word vectors file from `metabioner embed` (default: trained once from the corpora and cached)', valueName: 'FILE' },
};

/** Options of the training commands that can stop and resume. */
export const CHECKPOINT_OPTIONS: Record<string, OptionSpec> = {
  checkpoint: { type: 'string', description: 'keep a checkpoint in DIR; if DIR holds one, resume from it (with its options)', valueName: 'DIR' },
  'checkpoint-every': { type: 'string', description: 'checkpoint interval (epochs or meta-iterations)', valueName: 'N' },
  'checkpoint-minutes': { type: 'string', description: 'train, mtl-train: also checkpoint inside an epoch every M minutes (a stopped run loses less)', valueName: 'M' },
};

/** The hooks fields of CHECKPOINT_OPTIONS. */
export function checkpointHooks(values: Record<string, unknown>): { checkpointDir?: string; checkpointEvery?: number; checkpointMinutes?: number } {
  const every = values['checkpoint-every'] as string | undefined;
  const minutes = values['checkpoint-minutes'] as string | undefined;
  if (minutes !== undefined && !(Number(minutes) >= 0)) throw new UsageError(`--checkpoint-minutes takes a number of minutes ≥ 0, not "${minutes}"`);
  return { checkpointDir: values.checkpoint as string | undefined, checkpointEvery: every === undefined ? undefined : Number(every), checkpointMinutes: minutes === undefined ? undefined : Number(minutes) };
}

/**
 * How a training command is stopped from outside: Ctrl+C (SIGINT) ends the run keeping the best epoch so far,
 * which is scored and saved; SIGTERM pauses it — the checkpoint is written (with --checkpoint) and the command
 * exits without scoring or saving, to be resumed by running it again.
 */
export function stopSignals(progress: ProgressLine): { signal: AbortSignal; paused: () => boolean; dispose: () => void } {
  const controller = new AbortController();
  let paused = false;
  const onInt = () => {
    progress.log('interrupted: finishing the current step and keeping the best epoch so far');
    controller.abort();
  };
  const onTerm = () => {
    paused = true;
    progress.log('pausing: finishing the current step and writing the checkpoint; run the same command to resume');
    controller.abort();
  };
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    paused: () => paused,
    dispose: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}

/** Threads a training command computes on. */
export const WORKER_OPTIONS: Record<string, OptionSpec> = {
  workers: { type: 'string', description: 'threads computing gradients in parallel (0 = every core); a checkpoint may resume with another count', default: '0', valueName: 'N' },
};

/** Which model a tagging command uses: a directory, and the annotation convention of a unified model. */
export const MODEL_OPTIONS: Record<string, OptionSpec> = {
  model: { type: 'string', description: 'model directory (default: the shipped model)', valueName: 'DIR' },
  convention: { type: 'string', description: "tag in this corpus' annotation convention (a unified model trained with --conventions; default: the generic one)", valueName: 'CORPUS' },
};

/** The --scheme value, checked. */
export function schemeOption(values: Record<string, unknown>): TagScheme {
  const s = values.scheme as string;
  if (!(TAG_SCHEMES as readonly string[]).includes(s)) throw new UsageError(`--scheme must be one of ${TAG_SCHEMES.join(', ')}`);
  return s as TagScheme;
}

/** The --workers value resolved: 0 means every core. */
export function workersOption(values: Record<string, unknown>): number {
  const n = intOption(values, 'workers');
  try {
    return resolveWorkers(n);
  } catch (err) {
    throw new UsageError(`--${(err as Error).message}`);
  }
}

/** Options of every command that reads corpora: which ones, and where they live. */
export const CORPUS_OPTIONS: Record<string, OptionSpec> = {
  corpus: { type: 'string', description: 'corpus name(s), comma-separated (folders of the corpora root)', valueName: 'A[,B]' },
  'corpora-root': { type: 'string', description: 'folder of corpora (default $METABIONER_CORPORA or ../shared/corpora)', valueName: 'DIR' },
};

/** The corpora root named by --corpora-root, else the default one. */
export function corporaRootOption(values: Record<string, unknown>): string {
  return (values['corpora-root'] as string | undefined) ?? corporaRoot();
}

export function corpusList(value: unknown): string[] {
  return typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

/** The file of the word vectors named by --embeddings, or of the cached corpus-trained ones (trained now if missing). */
export async function wordVectorsFile(values: Record<string, unknown>, corporaRoot: string, progress: ProgressLine): Promise<string> {
  const file = values.embeddings as string | undefined;
  if (file) return file;
  const cached = await ensureEmbeddings({
    corporaRoot,
    cacheDir: path.join(cacheDir(), 'embeddings'),
    onProgress: (fraction: number, wordsPerSecond: number) => progress.update(fraction, `training word vectors from the corpora: ${Math.round(wordsPerSecond)} words/s`),
  });
  progress.done();
  return cached;
}

/** The word vectors named by --embeddings, or the cached corpus-trained ones (trained now if missing). */
export async function loadWordVectors(values: Record<string, unknown>, corporaRoot: string, progress: ProgressLine): Promise<EmbeddingTable> {
  return EmbeddingTable.load(await wordVectorsFile(values, corporaRoot, progress));
}

/**
 * What the training commands start with: the backend, the named corpora (train cut to --max-train-sentences)
 * and the word vectors, with a progress line for the rest of the run.
 */
export async function trainingSetup(values: Record<string, unknown>, names: readonly string[]): Promise<{ root: string; corpora: LoadedCorpus[]; words: EmbeddingTable; progress: ProgressLine }> {
  const root = corporaRootOption(values);
  await startBackend(values);
  const progress = new ProgressLine();
  const corpora = loadCorpora(root, names);
  const limit = intOption(values, 'max-train-sentences') ?? 0;
  if (limit > 0) for (const c of corpora) c.train = c.train.slice(0, limit);
  const words = await loadWordVectors(values, root, progress);
  return { root, corpora, words, progress };
}
