import * as fs from 'node:fs';
import { parseArgs, ParseArgsConfig } from 'node:util';
import { corporaRoot, listCorpora } from '../data/corpora';
import { BACKEND_CHOICES, BackendChoice, describeBackend, initBackend } from '../engine/backend';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>[string] & { description: string; valueName?: string };

export interface Command {
  name: string;
  summary: string;
  /** Positional arguments, for the usage line. */
  positionals?: string;
  options: Record<string, OptionSpec>;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  backend: { type: 'string', description: `numeric backend: ${BACKEND_CHOICES.join(', ')} (default auto)`, valueName: 'NAME' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/** An error the user can fix; printed without a stack trace. */
export class UsageError extends Error {}

export function helpText(cmd: Command): string {
  const lines = [`metabioner ${cmd.name}${cmd.positionals ? ' ' + cmd.positionals : ''} [options]`, '', cmd.summary, '', 'Options:'];
  const all = { ...cmd.options, ...COMMON_OPTIONS };
  for (const [name, spec] of Object.entries(all)) {
    const flag = `--${name}${spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : ''}`;
    lines.push(`  ${flag.padEnd(28)} ${spec.description}${spec.default !== undefined ? ` (default ${String(spec.default)})` : ''}`);
  }
  return lines.join('\n');
}

export async function runCommand(cmd: Command, argv: string[]): Promise<number> {
  const options = { ...cmd.options, ...COMMON_OPTIONS };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.entries(options).map(([k, { description: _d, valueName: _v, ...rest }]) => [k, rest])),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${helpText(cmd)}`);
  }
  if (parsed.values.help) {
    process.stdout.write(helpText(cmd) + '\n');
    return 0;
  }
  checkCorpusOptions(parsed.values);
  return cmd.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
}

/** Options that name corpora (folders of the corpora root), in every command that has them. */
const CORPUS_NAME_OPTIONS = ['corpus', 'eval-corpus'];

/**
 * Every corpus an option names is a corpus folder of the corpora root (train.tsv, devel.tsv and test.tsv)
 * before any work starts, so that a typo is one line and exit code 2, not an error deep in a run.
 */
function checkCorpusOptions(values: Record<string, unknown>): void {
  const named = CORPUS_NAME_OPTIONS.flatMap((o) => (typeof values[o] === 'string' ? (values[o] as string).split(',').map((c) => c.trim()).filter(Boolean) : []));
  const given = values['corpora-root'] as string | undefined;
  if (named.length === 0 && given === undefined) return;
  const root = given ?? corporaRoot();
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new UsageError(`the corpora folder ${root} does not exist (--corpora-root DIR, or $METABIONER_CORPORA)`);
  if (named.length === 0) return;
  const known = listCorpora(root);
  for (const c of named) {
    if (!known.includes(c)) {
      throw new UsageError(`no corpus "${c}" in ${root} (a corpus is a folder with train.tsv, devel.tsv and test.tsv; there: ${known.join(', ') || 'none'})`);
    }
  }
}

/** Starts the numeric backend named by --backend (or METABIONER_BACKEND) and says which one runs. */
export async function startBackend(values: Record<string, unknown>, quiet = false): Promise<void> {
  const choice = (values.backend as string | undefined) ?? process.env.METABIONER_BACKEND ?? 'auto';
  if (!BACKEND_CHOICES.includes(choice as BackendChoice)) throw new UsageError(`--backend must be one of ${BACKEND_CHOICES.join(', ')}`);
  const info = await initBackend(choice as BackendChoice);
  if (!quiet) process.stderr.write(`${describeBackend(info)}\n`);
}

export function intOption(values: Record<string, unknown>, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UsageError(`--${name} takes a whole number, not "${String(v)}"`);
  return n;
}

export function numberOption(values: Record<string, unknown>, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} takes a number, not "${String(v)}"`);
  return n;
}
