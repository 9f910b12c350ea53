/**
 * The sample workspace of `npm run editor` and of the end-to-end tests, assembled in a fresh folder (labels
 * written by the user or a test never land in the repository): test/e2e/workspace/, the sample abstract of
 * docs/, and two small corpora of test/fixtures/ (one chemical, one species corpus: a meta-training run
 * with Disease held out draws its tasks from both).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository: the first folder up from here with the project's package.json (also from a bundle in out/). */
export const ROOT = (() => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'metabioner') return dir;
  }
  return path.resolve(__dirname, '..', '..');
})();
export const SAMPLE_CORPORA = ['BC5CDR-chem', 'LINNAEUS'];

export function makeWorkspace(dest: string): string {
  fs.rmSync(dest, { recursive: true, force: true });
  fs.cpSync(path.join(ROOT, 'test', 'e2e', 'workspace'), dest, { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'docs', 'sample-abstract.txt'), path.join(dest, 'abstracts', 'cisplatin.txt'));
  for (const c of SAMPLE_CORPORA) fs.cpSync(path.join(ROOT, 'test', 'fixtures', 'corpora', c), path.join(dest, 'corpora', c), { recursive: true });
  return dest;
}
