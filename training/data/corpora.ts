import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../io/paths';
import { ParseOptions, readConll } from './conll';
import type { CorpusSplit, Sentence } from './types';

export const SPLITS: readonly CorpusSplit[] = ['train', 'devel', 'test'];

/** `$METABIONER_CORPORA`, else `../shared/corpora` beside the package (where the benchmark corpora live). */
export function corporaRoot(): string {
  if (process.env.METABIONER_CORPORA) return path.resolve(process.env.METABIONER_CORPORA);
  return path.resolve(packageRoot(), '..', 'shared', 'corpora');
}

/** The small samples committed for the tests (cut by scripts/cut-fixtures.ts). */
export function fixturesRoot(): string {
  return path.join(packageRoot(), 'test', 'fixtures', 'corpora');
}

/** Corpus folders under `root`: every folder with train.tsv, devel.tsv and test.tsv (a user's BC4CHEMD too). */
export function listCorpora(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && SPLITS.every((s) => fs.existsSync(path.join(root, d.name, `${s}.tsv`))))
    .map((d) => d.name)
    .sort();
}

export function splitFile(root: string, corpus: string, split: CorpusSplit): string {
  return path.join(root, corpus, `${split}.tsv`);
}

export function loadSplit(root: string, corpus: string, split: CorpusSplit, opts: ParseOptions = {}): Sentence[] {
  const file = splitFile(root, corpus, split);
  if (!fs.existsSync(file)) {
    const known = listCorpora(root);
    throw new Error(`no ${split} split for corpus "${corpus}" (${file}); corpora in ${root}: ${known.join(', ') || 'none'}`);
  }
  return readConll(file, opts);
}
