import * as fs from 'node:fs';
import { loadModel } from '../../model/model-io';
import { tagText, TextEntity } from '../../model/tag-text';
import { defaultModelDir } from '../../io/paths';
import { Command, numberOption, startBackend, UsageError } from '../command';

function formatTable(entities: TextEntity[]): string {
  const rows = entities.map((e) => [String(e.start), String(e.end), e.type, e.confidence.toFixed(3), e.text.replace(/\s+/g, ' ')]);
  const header = ['start', 'end', 'type', 'conf', 'text'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export const tagCommand: Command = {
  name: 'tag',
  summary: 'Find entities in a text file (or - for standard input) and print them with character offsets, types and confidences.',
  positionals: 'FILE',
  options: {
    model: { type: 'string', description: 'model directory (default: the shipped model)', valueName: 'DIR' },
    format: { type: 'string', description: 'table, json or tsv', default: 'table', valueName: 'FMT' },
    'min-confidence': { type: 'string', description: 'hide entities below this confidence', default: '0', valueName: 'P' },
  },
  async run(values, positionals) {
    if (positionals.length !== 1) throw new UsageError('tag takes one FILE (or - for standard input)');
    const file = positionals[0];
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file === '-' ? 0 : file);
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
    }
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new UsageError(`${file} is not UTF-8 text`);
    }
    await startBackend(values);
    const dir = (values.model as string | undefined) ?? defaultModelDir();
    const model = loadModel(dir);
    const minConfidence = numberOption(values, 'min-confidence') ?? 0;
    const entities = tagText(model, text).filter((e) => e.confidence >= minConfidence);
    const format = values.format as string;
    if (format === 'json') process.stdout.write(JSON.stringify({ model: model.info.name, entities }, null, 1) + '\n');
    else if (format === 'tsv') for (const e of entities) process.stdout.write(`${e.start}\t${e.end}\t${e.type}\t${e.confidence.toFixed(4)}\t${e.text}\n`);
    else if (format === 'table') {
      process.stdout.write(`${entities.length} entities (${model.info.name}; types ${model.types.join(', ')})\n`);
      if (entities.length) process.stdout.write(formatTable(entities) + '\n');
    } else throw new UsageError(`--format must be table, json or tsv`);
    model.dispose();
    return 0;
  },
};
