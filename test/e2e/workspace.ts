/**
 * The sample workspace of `npm run editor` and of the end-to-end tests, assembled in a fresh folder (labels
 * written by the user or a test never land in the repository): test/e2e/workspace/, the sample abstract of
 * docs/, and two small corpora of test/fixtures/ (one chemical, one species corpus: a meta-training run
 * with Disease held out draws its tasks from both).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const SAMPLE_CORPORA = ['BC5CDR-chem', 'LINNAEUS'];

export function makeWorkspace(dest: string): string {
  fs.rmSync(dest, { recursive: true, force: true });
  fs.cpSync(path.join(ROOT, 'test', 'e2e', 'workspace'), dest, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'docs', 'sample-abstract.txt'), path.join(dest, 'abstracts', 'cisplatin.txt'));
  for (const c of SAMPLE_CORPORA) fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'corpora', c), path.join(dest, 'corpora', c), { recursive: true });
  return dest;
}
