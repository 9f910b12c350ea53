/**
 * bench:ablation — measures accuracy levers on devel: each variant of the training options is trained on each
 * corpus with each seed (train split, early stopping on devel) and its best devel F1 recorded. Test splits are
 * never read (levers are chosen on devel; test is for the final model). Prints a table and writes
 * docs/results/ablation.{json,md}; runs already in the JSON are kept, so an interrupted run continues.
 *
 *   npm run bench:ablation [-- --corpora A,B] [--seeds 1,2] [--variants base,wavg] [--epochs N] [--workers N]
 *
 * Accuracy does not depend on the machine's load (the same seed gives the same weights), so a run may share the
 * machine; its wall times may not be compared with another run's.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { corporaRoot } from '../training/data/corpora';
import { initBackend } from '../training/engine/backend';
import { ensureEmbeddings } from '../training/embeddings/cache';
import { EmbeddingTable } from '../training/embeddings/store';
import { writeFileAtomic } from '../training/io/atomic';
import { cacheDir } from '../training/io/paths';
import { SupervisedOptions, trainSupervised } from '../training/train/supervised';
import { loadCorpora, trainingDataOf } from '../training/train/training-data';

/** The levers, as changes to the default training options (`base` is the defaults). */
const VARIANTS: Record<string, { summary: string; options: Partial<SupervisedOptions> }> = {
  base: { summary: 'defaults (batch 10, lr 2e-3, hidden 128, dropout 0.5)', options: {} },
  wavg: { summary: 'weight average, decay 0.999', options: { weightAverage: 0.999 } },
  wdrop: { summary: 'word dropout 0.05', options: { wordDropout: 0.05 } },
  bioes: { summary: 'BIOES tags for the CRF', options: { scheme: 'bioes' } },
  h256: { summary: 'hidden 256 per direction', options: { hidden: 256 } },
  b32: { summary: 'batch 32, lr 4e-3', options: { batchSize: 32, lr: 4e-3 } },
};

interface Run {
  variant: string;
  corpus: string;
  seed: number;
  devel_f1: number;
  best_epoch: number;
  epochs_run: number;
  train_seconds: number;
  load_average: number;
  date: string;
}

const key = (r: Pick<Run, 'variant' | 'corpus' | 'seed'>) => `${r.variant}|${r.corpus}|${r.seed}`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      corpora: { type: 'string', default: 'NCBI-disease,S800' },
      seeds: { type: 'string', default: '1,2' },
      variants: { type: 'string', default: Object.keys(VARIANTS).join(',') },
      epochs: { type: 'string', default: '12' },
      patience: { type: 'string', default: '3' },
      workers: { type: 'string', default: '1' },
    },
  });
  const corpora = values.corpora.split(',');
  const seeds = values.seeds.split(',').map(Number);
  const variants = values.variants.split(',');
  for (const v of variants) if (!VARIANTS[v]) throw new Error(`unknown variant ${v} (known: ${Object.keys(VARIANTS).join(', ')})`);
  const root = corporaRoot();
  const backend = await initBackend('auto');
  const words = EmbeddingTable.load(await ensureEmbeddings({ corporaRoot: root, cacheDir: path.join(cacheDir(), 'embeddings') }));
  const dir = path.join(__dirname, '..', 'docs', 'results');
  const jsonFile = path.join(dir, 'ablation.json');
  const runs = new Map<string, Run>();
  if (fs.existsSync(jsonFile)) for (const r of (JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { runs: Run[] }).runs) runs.set(key(r), r);
  const epochs = Number(values.epochs);
  const patience = Number(values.patience);
  const settings = { epochs, patience, workers: Number(values.workers), backend: backend.name, cpu: os.cpus()[0]?.model };
  for (const corpus of corpora) {
    const data = trainingDataOf(loadCorpora(root, [corpus]));
    for (const seed of seeds) {
      for (const variant of variants) {
        if (runs.has(key({ variant, corpus, seed }))) continue;
        process.stderr.write(`== ${variant} ${corpus} seed ${seed}\n`);
        const result = await trainSupervised(data, words, { name: corpus, trainedOn: [`${corpus}/train`] }, { epochs, patience, seed, ...VARIANTS[variant].options }, { workers: settings.workers });
        result.model.dispose();
        const run: Run = { variant, corpus, seed, devel_f1: result.bestDevelF1, best_epoch: result.bestEpoch, epochs_run: result.history.length, train_seconds: Math.round(result.trainSeconds), load_average: os.loadavg()[0], date: new Date().toISOString() };
        process.stderr.write(`   devel F1 ${run.devel_f1.toFixed(4)} (epoch ${run.best_epoch}/${run.epochs_run}, ${run.train_seconds} s)\n`);
        runs.set(key(run), run);
        write(dir, settings, [...runs.values()]);
      }
    }
  }
  write(dir, settings, [...runs.values()]);
}

function write(dir: string, settings: Record<string, unknown>, runs: Run[]): void {
  const corpora = [...new Set(runs.map((r) => r.corpus))].sort();
  const variants = Object.keys(VARIANTS).filter((v) => runs.some((r) => r.variant === v));
  const cell = (variant: string, corpus: string): string => {
    const rs = runs.filter((r) => r.variant === variant && r.corpus === corpus).sort((a, b) => a.seed - b.seed);
    if (!rs.length) return '—';
    const base = runs.filter((r) => r.variant === 'base' && r.corpus === corpus);
    const mean = rs.reduce((s, r) => s + r.devel_f1, 0) / rs.length;
    // Paired by seed: the same seed draws the same batches and initial weights in both variants.
    const paired = rs.map((r) => [r, base.find((b) => b.seed === r.seed)] as const).filter(([, b]) => b);
    const delta = variant !== 'base' && paired.length ? paired.reduce((s, [r, b]) => s + r.devel_f1 - (b as Run).devel_f1, 0) / paired.length : undefined;
    return `${(100 * mean).toFixed(1)} (${rs.map((r) => (100 * r.devel_f1).toFixed(1)).join(' / ')})${delta !== undefined ? ` **${delta >= 0 ? '+' : ''}${(100 * delta).toFixed(1)}**` : ''}`;
  };
  const table = [
    `| variant | ${corpora.join(' | ')} | what changes |`,
    `| --- | ${corpora.map(() => '---:').join(' | ')} | --- |`,
    ...variants.map((v) => `| ${v} | ${corpora.map((c) => cell(v, c)).join(' | ')} | ${VARIANTS[v].summary} |`),
  ].join('\n');
  process.stdout.write(`\n${table}\n`);
  writeFileAtomic(path.join(dir, 'ablation.json'), JSON.stringify({ settings, runs }, null, 1) + '\n');
  writeFileAtomic(
    path.join(dir, 'ablation.md'),
    '# Accuracy levers, measured on devel (single-corpus taggers)\n\n' +
      `Written by \`npm run bench:ablation\`: each variant trained per corpus and seed (train split, at most ${String(settings.epochs)} epochs, ` +
      `patience ${String(settings.patience)}, best devel epoch kept), ${String(settings.workers)} worker(s), ${String(settings.backend)}. ` +
      'Best devel F1 in %: mean over seeds (each seed), and in bold the mean difference from `base` with the same seed. ' +
      'Differences under a point between two seeds are noise until more seeds say otherwise. Test splits are not read.\n\n' +
      `${table}\n\nRuns (load average at the end of each, wall time):\n\n` +
      runs.map((r) => `- ${r.variant} ${r.corpus} seed ${r.seed}: devel F1 ${r.devel_f1.toFixed(4)}, best epoch ${r.best_epoch} of ${r.epochs_run}, ${r.train_seconds} s, load ${r.load_average.toFixed(1)} (${r.date})`).join('\n') +
      '\n',
  );
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
