import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultModelDir } from '../../io/paths';
import { readModelInfo } from '../../model/model-io';
import { conventionModelName, PREDICT_BATCH } from '../../model/ner-model';
import { textEntities, TextEntity, textPieces } from '../../model/tag-text';
import { TagPool } from '../../parallel/tag-pool';
import { resolveWorkers } from '../../parallel/worker-entry';
import { Command, intOption, numberOption, startBackend, UsageError } from '../command';
import { MODEL_OPTIONS } from './shared';

const FORMATS = ['table', 'json', 'tsv'];

function formatTable(entities: TextEntity[]): string {
  const rows = entities.map((e) => [String(e.start), String(e.end), e.type, e.confidence.toFixed(3), e.text.replace(/\s+/g, ' ')]);
  const header = ['start', 'end', 'type', 'conf', 'text'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** One input to tag: a file (`-`: standard input), or why it cannot be. */
type Input = { name: string; problem?: string };

/** The files named on the command line, folders replaced by their *.txt files in name order. */
function expandInputs(positionals: string[]): Input[] {
  if (positionals.filter((p) => p === '-').length > 1) throw new UsageError('- (standard input) can be given once');
  return positionals.flatMap((p): Input[] => {
    if (p === '-') return [{ name: p }];
    let stat: fs.Stats;
    try {
      stat = fs.statSync(p);
    } catch (err) {
      return [{ name: p, problem: `cannot read ${p}: ${(err as Error).message}` }];
    }
    if (!stat.isDirectory()) return [{ name: p }];
    const files = fs
      .readdirSync(p, { withFileTypes: true })
      .filter((e) => e.name.endsWith('.txt') && (e.isFile() || e.isSymbolicLink()))
      .map((e) => e.name)
      .sort();
    return files.length ? files.map((f) => ({ name: path.join(p, f) })) : [{ name: p, problem: `${p} holds no .txt file` }];
  });
}

/** The text of an input, or a one-line message saying why there is none. */
function read(input: Input): { text: string } | { problem: string } {
  if (input.problem) return { problem: input.problem };
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(input.name === '-' ? 0 : input.name);
  } catch (err) {
    return { problem: `cannot read ${input.name}: ${(err as Error).message}` };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { problem: `${input.name} is not UTF-8 text` };
  }
}

type Outcome = { entities: TextEntity[] } | { problem: string } | { failure: Error };

export const tagCommand: Command = {
  name: 'tag',
  summary: 'Find entities in text files, folders of .txt files (or - for standard input) and print them with character offsets, types and confidences.',
  positionals: 'FILE|FOLDER…',
  options: {
    ...MODEL_OPTIONS,
    format: { type: 'string', description: 'table, json or tsv', default: 'table', valueName: 'FMT' },
    'min-confidence': { type: 'string', description: 'hide entities below this confidence', default: '0', valueName: 'P' },
    workers: { type: 'string', description: 'worker threads tagging in parallel (0 = every core)', default: '0', valueName: 'N' },
  },
  async run(values, positionals) {
    if (positionals.length === 0) throw new UsageError('tag takes one or more FILEs or FOLDERs (or - for standard input)');
    const format = values.format as string;
    if (!FORMATS.includes(format)) throw new UsageError(`--format must be table, json or tsv`);
    let workers: number;
    try {
      workers = resolveWorkers(intOption(values, 'workers'));
    } catch (err) {
      throw new UsageError(`--${(err as Error).message}`);
    }
    const minConfidence = numberOption(values, 'min-confidence') ?? 0;
    const dir = (values.model as string | undefined) ?? defaultModelDir();
    const convention = values.convention as string | undefined;
    const inputs = expandInputs(positionals);
    // One file prints as it always did; several files, or a folder, name the file on every row.
    const several = positionals.length > 1 || inputs.length > 1 || inputs[0].name !== positionals[0];

    if (!several) {
      const r = read(inputs[0]);
      if ('problem' in r) throw new UsageError(r.problem);
      await startBackend(values);
      const pieces = textPieces(r.text);
      // no more workers than batches of sentences: a short text is tagged in-process, without starting threads
      const pool = await TagPool.start(dir, Math.max(1, Math.min(workers, Math.ceil(pieces.length / PREDICT_BATCH))), undefined, convention);
      try {
        const { info, types } = readModelInfo(dir);
        const predictions = await pool.predict(pieces.map((p) => p.tokens.map((t) => t.text)));
        const entities = textEntities(r.text, pieces, predictions).filter((e) => e.confidence >= minConfidence);
        if (format === 'json') process.stdout.write(JSON.stringify({ model: conventionModelName(info.name, convention), entities }, null, 1) + '\n');
        else if (format === 'tsv') for (const e of entities) process.stdout.write(`${e.start}\t${e.end}\t${e.type}\t${e.confidence.toFixed(4)}\t${e.text}\n`);
        else {
          process.stdout.write(`${entities.length} entities (${conventionModelName(info.name, convention)}; types ${types.join(', ')})\n`);
          if (entities.length) process.stdout.write(formatTable(entities) + '\n');
        }
      } finally {
        await pool.close();
      }
      return 0;
    }

    // `metabioner tag folder | head`: a closed pipe ends the run quietly, as it would any Unix filter
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
    await startBackend(values);
    const pool = await TagPool.start(dir, workers, undefined, convention);
    const { info, types } = readModelInfo(dir);
    let code = 0;
    let records = 0;
    const print = (name: string, entities: TextEntity[]) => {
      if (format === 'json') process.stdout.write(`${records++ ? ',\n' : ''}${JSON.stringify({ file: name, entities }, null, 1)}`);
      else if (format === 'tsv') for (const e of entities) process.stdout.write(`${name}\t${e.start}\t${e.end}\t${e.type}\t${e.confidence.toFixed(4)}\t${e.text}\n`);
      else {
        process.stdout.write(`${records++ ? '\n' : ''}${name}: ${entities.length} entities (${conventionModelName(info.name, convention)}; types ${types.join(', ')})\n`);
        if (entities.length) process.stdout.write(formatTable(entities) + '\n');
      }
    };
    const tag = async (input: Input): Promise<Outcome> => {
      const r = read(input);
      if ('problem' in r) return r;
      try {
        const [entities] = await pool.tagTexts([r.text]);
        return { entities: entities.filter((e) => e.confidence >= minConfidence) };
      } catch (err) {
        return { failure: err as Error };
      }
    };
    if (format === 'json') process.stdout.write('[\n');
    try {
      // A window of files in flight keeps every worker busy while the output follows the order of the inputs.
      const window = Math.max(2, pool.size * 4);
      const pending: Promise<Outcome>[] = inputs.slice(0, window).map(tag);
      for (let i = 0; i < inputs.length; i++) {
        const outcome = await pending[i];
        if (i + window < inputs.length) pending.push(tag(inputs[i + window]));
        if ('failure' in outcome) {
          process.stderr.write(`metabioner: tagging ${inputs[i].name} failed: ${outcome.failure.message}\n`);
          code = 1;
          break;
        }
        if ('problem' in outcome) {
          process.stderr.write(`metabioner: ${outcome.problem}\n`);
          code = 2;
        } else print(inputs[i].name, outcome.entities);
      }
    } finally {
      await pool.close();
    }
    if (format === 'json') process.stdout.write(`${records ? '\n' : ''}]\n`);
    return code;
  },
};
