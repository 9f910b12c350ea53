import { Command, runCommand } from './command';
import { embedCommand } from './commands/embed';
import { evalCommand } from './commands/eval';
import { adaptCommand, fewshotEvalCommand, metaTrainCommand } from './commands/meta';
import { mtlTrainCommand } from './commands/mtl';
import { tagCommand } from './commands/tag';
import { trainCommand } from './commands/train';
import { exitCodeOf, reportOf } from './errors';

const COMMANDS: Command[] = [tagCommand, trainCommand, evalCommand, embedCommand, metaTrainCommand, adaptCommand, fewshotEvalCommand, mtlTrainCommand];

function usage(): string {
  return [
    'metabioner <command> [options]   (metabioner <command> --help for its options)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`),
  ].join('\n');
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
    process.stderr.write(`${reportOf(err)}\n`);
    process.exit(exitCodeOf(err));
  },
);
