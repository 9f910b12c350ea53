import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A sibling name in the same folder, so the final rename never crosses file systems. */
function tempSibling(target: string, kind: 'tmp' | 'old' = 'tmp'): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Siblings of `target` left by writeDirAtomic: the previous version set aside ('old') or a new one being built ('tmp'). */
function siblings(target: string, kind: 'tmp' | 'old'): { file: string; pid: number }[] {
  const dir = path.dirname(path.resolve(target));
  const prefix = `.${path.basename(target)}.${kind}-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.startsWith(prefix)).map((n) => ({ file: path.join(dir, n), pid: Number(n.slice(prefix.length).split('-')[0]) }));
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Makes a rename durable (power loss, not only a crash): fsync of the folder that holds the name. Best effort. */
function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // not supported here (Windows): the rename is atomic all the same
  }
}

/**
 * Finishes what a writeDirAtomic killed between its two renames left: with `target` gone and its previous
 * version set aside, the previous version is put back (so a reader finds the old directory, never none).
 * Half-built new versions of writers that are no longer running are removed. Returns whether it restored.
 */
export function recoverDir(target: string): boolean {
  let restored = false;
  if (!fs.existsSync(target)) {
    const old = siblings(target, 'old').filter((s) => !isRunning(s.pid));
    const newest = old.sort((a, b) => fs.statSync(b.file).mtimeMs - fs.statSync(a.file).mtimeMs)[0];
    if (newest) {
      fs.renameSync(newest.file, target);
      restored = true;
    }
  }
  for (const s of [...siblings(target, 'tmp'), ...(fs.existsSync(target) ? siblings(target, 'old') : [])]) {
    if (!isRunning(s.pid)) fs.rmSync(s.file, { recursive: true, force: true });
  }
  return restored;
}

/** Writes a file so that readers see either the old content or the new, never a torn write. */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempSibling(target);
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  syncDir(path.dirname(target));
  // Temporary files of writers killed mid-write (SIGKILL leaves no chance to clean up) are garbage.
  for (const s of siblings(target, 'tmp')) if (!isRunning(s.pid)) fs.rmSync(s.file, { force: true });
}

/**
 * Builds a directory in a temporary sibling and swaps it into place. A crash at any point leaves either the
 * old directory or the new one: a directory cannot be renamed over another, so the old one is first set
 * aside (`.<name>.old-…`), and a crash between the two renames is repaired by recoverDir, which readers and
 * the next write call, putting the old one back.
 */
export function writeDirAtomic(target: string, fill: (dir: string) => void): void {
  fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
  recoverDir(target);
  const tmp = tempSibling(target);
  fs.mkdirSync(tmp);
  try {
    fill(tmp);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  if (fs.existsSync(target)) {
    const old = tempSibling(target, 'old');
    fs.renameSync(target, old);
    fs.renameSync(tmp, target);
    syncDir(path.dirname(path.resolve(target)));
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(tmp, target);
    syncDir(path.dirname(path.resolve(target)));
  }
}
