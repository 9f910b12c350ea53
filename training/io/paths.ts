import * as fs from 'node:fs';
import * as path from 'node:path';

let root: string | undefined;

/** The folder of MetaBioNER's package.json, found from this file whether it runs from source or from dist/. */
export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      try {
        if ((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'metabioner') return (root = dir);
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the metabioner package root above ${__dirname}`);
    dir = parent;
  }
}

/** The model that ships with the package, used when no --model is given. */
export function defaultModelDir(): string {
  return path.join(packageRoot(), 'models', 'default');
}

/** Derived data (trained embeddings and the like), git-ignored. */
export function cacheDir(): string {
  return process.env.METABIONER_CACHE ?? path.join(packageRoot(), '.cache');
}
