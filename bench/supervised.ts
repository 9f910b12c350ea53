/**
 * bench:supervised — trains one tagger per corpus (train split, early stopping on devel) and scores it on the
 * test split with conlleval. Prints a table and writes docs/results/supervised.{json,md}.
 *
 *   npm run bench:supervised [-- --corpora A,B] [--max-minutes M] [--epochs N] [--backend wasm]
 *
 * With no options it trains exactly as `metabioner train --corpus C` does (same defaults and seed), so either
 * command reproduces a row.
 *
 * Results of corpora not run this time are kept from the previous file, so the table can be filled in
 * several runs (each row says its own command and date).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { corporaRoot, listCorpora } from '../training/data/corpora';
import { BackendChoice, initBackend } from '../training/engine/backend';
import { ensureEmbeddings } from '../training/embeddings/cache';
import { EmbeddingTable } from '../training/embeddings/store';
import { evaluateModel } from '../training/eval/evaluate-model';
import { writeFileAtomic } from '../training/io/atomic';
import { cacheDir } from '../training/io/paths';
import { DEFAULT_SUPERVISED, trainSupervised } from '../training/train/supervised';
import { loadCorpora, loadEvaluationSplit, trainingDataOf } from '../training/train/training-data';

interface Row {
  precision: number;
  recall: number;
  f1: number;
  train_seconds: number;
  epochs_run: number;
  best_epoch: number;
  devel_f1: number;
  stopped_by: string;
  command: string;
  date: string;
}

/** Published BiLSTM-CRF F1 for context (Habibi et al. 2017 / Wang et al. 2019 tables, as cited by the issue). */
const REFERENCE: Record<string, number> = { 'NCBI-disease': 0.858 };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      corpora: { type: 'string' },
      'max-minutes': { type: 'string', default: '0' },
      epochs: { type: 'string', default: String(DEFAULT_SUPERVISED.epochs) },
      'batch-size': { type: 'string', default: String(DEFAULT_SUPERVISED.batchSize) },
      backend: { type: 'string', default: 'auto' },
      seed: { type: 'string', default: '1' },
    },
  });
  const root = corporaRoot();
  const names = values.corpora ? values.corpora.split(',') : listCorpora(root);
  const info = await initBackend(values.backend as BackendChoice);
  const embeddingsFile = await ensureEmbeddings({ corporaRoot: root, cacheDir: path.join(cacheDir(), 'embeddings') });
  const words = EmbeddingTable.load(embeddingsFile);
  const resultsDir = path.join(__dirname, '..', 'docs', 'results');
  const jsonFile = path.join(resultsDir, 'supervised.json');
  // Re-read before each write: other bench processes (one per core) may have added rows meanwhile.
  const previous = (): Record<string, Row> => (fs.existsSync(jsonFile) ? (JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as { corpora: Record<string, Row> }).corpora : {});
  const argv = process.argv.slice(2).join(' ');
  const command = `npm run bench:supervised${argv ? ` -- ${argv}` : ''}`;
  for (const name of names) {
    process.stderr.write(`== ${name}\n`);
    const loaded = loadCorpora(root, [name]);
    const result = await trainSupervised(
      trainingDataOf(loaded),
      words,
      { name, trainedOn: [`${name}/train`], command },
      { maxMinutes: Number(values['max-minutes']), epochs: Number(values.epochs), batchSize: Number(values['batch-size']), seed: Number(values.seed) },
      {
        onProgress: (p) => {
          if (p.phase === 'eval' && p.develF1 !== undefined) {
            process.stderr.write(`  epoch ${p.epoch}: loss ${p.loss.toFixed(4)} devel F1 ${p.develF1.toFixed(4)} (${p.elapsedSeconds.toFixed(0)} s)\n`);
          }
        },
      },
    );
    const { sentences, types } = loadEvaluationSplit(root, name, 'test');
    const r = evaluateModel(result.model, sentences, types);
    const corpora = previous();
    corpora[name] = {
      precision: r.precision,
      recall: r.recall,
      f1: r.f1,
      train_seconds: Math.round(result.trainSeconds),
      epochs_run: result.history.length,
      best_epoch: result.bestEpoch,
      devel_f1: result.bestDevelF1,
      stopped_by: result.stoppedBy,
      command,
      date: new Date().toISOString(),
    };
    process.stderr.write(`  test P ${r.precision.toFixed(4)} R ${r.recall.toFixed(4)} F1 ${r.f1.toFixed(4)}\n`);
    result.model.dispose();
    write(resultsDir, info.name, command, corpora);
  }
}

function write(dir: string, backend: string, command: string, corpora: Record<string, Row>): void {
  const ordered = Object.keys(corpora).sort();
  const table = [
    '| corpus | precision | recall | F1 | published BiLSTM-CRF F1 | train time (s) | epochs (best) | stopped by |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...ordered.map((n) => {
      const r = corpora[n];
      return `| ${n} | ${r.precision.toFixed(4)} | ${r.recall.toFixed(4)} | **${r.f1.toFixed(4)}** | ${REFERENCE[n]?.toFixed(3) ?? '—'} | ${r.train_seconds} | ${r.epochs_run} (${r.best_epoch}) | ${r.stopped_by} |`;
    }),
  ].join('\n');
  process.stdout.write(`\n${table}\n`);
  writeFileAtomic(path.join(dir, 'supervised.json'), JSON.stringify({ backend, command, cpu: os.cpus()[0]?.model, corpora }, null, 1) + '\n');
  writeFileAtomic(
    path.join(dir, 'supervised.md'),
    `# Supervised BiLSTM-CNN-CRF per corpus\n\nBackend: ${backend}; ${os.cpus()[0]?.model}, one training process per core.\n` +
      'Word vectors: 100-d, trained from the corpora themselves (train + devel text), frozen; char-CNN 50 filters; BiLSTM 2×128; CRF. ' +
      'AdamW, clip 5, linear schedule, dropout 0.5, early stopping on devel F1. Test F1 is conlleval (exact type + start + end).\n\n' +
      `${table}\n\nCommands and dates per row:\n\n${ordered.map((n) => `- ${n}: \`${corpora[n].command}\` (${corpora[n].date})`).join('\n')}\n`,
  );
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
