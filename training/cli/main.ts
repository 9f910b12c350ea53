import { CorpusFormatError } from '../data/conll';
import { EmbeddingFormatError } from '../embeddings/store';
import { ModelFormatError } from '../model/model-io';
import { CheckpointError } from '../train/checkpoint';
import { UnknownLabelError } from '../model/vocab';
import { Command, runCommand, UsageError } from './command';
import { embedCommand } from './commands/embed';
import { evalCommand } from './commands/eval';
import { adaptCommand, fewshotEvalCommand, metaTrainCommand } from './commands/meta';
import { mtlTrainCommand } from './commands/mtl';
import { tagCommand } from './commands/tag';
import { trainCommand } from './commands/train';

const COMMANDS: Command[] = [tagCommand, trainCommand, evalCommand, embedCommand, metaTrainCommand, adaptCommand, fewshotEvalCommand, mtlTrainCommand];

function usage(): string {
  return [
    'metabioner <command> [options]   (metabioner <command> --help for its options)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`),
  ].join('\n');
}

/** Errors of the file system that the user can fix: a path that is not there, not readable, not writable, full. */
const SYSTEM_ERRORS = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT', 'EROFS', 'EMFILE', 'ENAMETOOLONG', 'ELOOP']);

/**
 * The exit-code policy: an error the user can fix (a bad option, a missing or damaged file or model, a corpus
 * that is not there) is one line and exit code 2; anything else is a bug of MetaBioNER: its stack trace and
 * exit code 1.
 */
function isExpected(err: unknown): err is Error {
  return (
    err instanceof UsageError ||
    err instanceof ModelFormatError ||
    err instanceof UnknownLabelError ||
    err instanceof CheckpointError ||
    err instanceof CorpusFormatError ||
    err instanceof EmbeddingFormatError ||
    (err instanceof Error && SYSTEM_ERRORS.has((err as NodeJS.ErrnoException).code ?? ''))
  );
}

/** An expected error as the one line printed: newlines folded (a usage error's help text follows it). */
function oneLine(err: Error): string {
  if (err instanceof UsageError) return err.message;
  return err.message.replace(/\s*[\r\n]+\s*/g, ' ');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  return runCommand(cmd, rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (isExpected(err)) process.stderr.write(`metabioner: ${oneLine(err)}\n`);
    else process.stderr.write(`metabioner: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(isExpected(err) ? 2 : 1);
  },
);
