/**
 * How long one epoch of the shipped model's training takes (the unified tagger over every training sentence of
 * the seven corpora, as `npm run train:default` trains it) with 1 worker and with N: the first `steps` steps of
 * the epoch are timed (0 = the whole epoch) and scaled to the epoch's step count. The devel evaluation after the
 * epoch is not included.
 */
import * as path from 'node:path';
import { corporaRoot } from '../training/data/corpora';
import { ensureEmbeddings } from '../training/embeddings/cache';
import { EmbeddingTable } from '../training/embeddings/store';
import { cacheDir } from '../training/io/paths';
import { trainMultiTask, unifiedCorpora } from '../training/multitask/mtl-train';
import { UNIFIED_TYPE_MAPS } from '../training/multitask/type-map';
import { loadCorpora } from '../training/train/training-data';

export const SHIPPED_CORPORA = ['NCBI-disease', 'BC5CDR-disease', 'BC5CDR-chem', 'JNLPBA', 'BC2GM', 'LINNAEUS', 'S800'];

export interface EpochTiming {
  workers: number;
  steps_timed: number;
  steps_per_epoch: number;
  seconds_timed: number;
  epoch_seconds: number;
}

export async function timeShippedEpoch(workerCounts: readonly number[], steps: number): Promise<EpochTiming[] | undefined> {
  const root = corporaRoot();
  let corpora;
  try {
    corpora = loadCorpora(root, SHIPPED_CORPORA);
  } catch {
    return undefined; // the benchmark corpora are not here
  }
  const words = EmbeddingTable.load(await ensureEmbeddings({ corporaRoot: root, cacheDir: path.join(cacheDir(), 'embeddings') }));
  const unified = unifiedCorpora(corpora.map((c) => ({ name: c.name, types: c.types, train: c.train, devel: [] })), UNIFIED_TYPE_MAPS);
  const out: EpochTiming[] = [];
  for (const workers of workerCounts) {
    const controller = new AbortController();
    let first: { t: number; step: number } | undefined;
    let last = { t: 0, step: 0 };
    let perEpoch = 0;
    const r = await trainMultiTask(unified, words, { name: 'epoch-timing', trainedOn: [] }, { sharing: 'unified', epochs: 1, seed: 1 }, {
      workers,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase !== 'train') return;
        perEpoch = p.totalSteps;
        // Timing starts after the first step (the pool is up and the kernels are compiled).
        first ??= { t: performance.now(), step: p.step };
        last = { t: performance.now(), step: p.step };
        if (steps > 0 && p.step - first.step >= steps) controller.abort();
      },
    });
    r.model.dispose();
    if (!first) continue;
    const timed = last.step - first.step;
    const seconds = (last.t - first.t) / 1000;
    out.push({ workers, steps_timed: timed, steps_per_epoch: perEpoch, seconds_timed: seconds, epoch_seconds: (seconds / Math.max(1, timed)) * perEpoch });
    process.stderr.write(`shipped-model epoch, ${workers} worker(s): ${timed} steps in ${seconds.toFixed(0)} s → ${((seconds / timed) * perEpoch / 60).toFixed(1)} min per epoch of ${perEpoch} steps\n`);
  }
  return out;
}
