import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CorpusFolder } from '../media/messages';
import * as P from '../server/protocol';
import { Ctx } from './ctx';

const isCorpus = (dir: string) => ['train.tsv', 'devel.tsv', 'test.tsv'].every((f) => fs.existsSync(path.join(dir, f)));

function subdirs(dir: string): string[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules').map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
}

/** Folders of the workspace that hold corpora (each with train/devel/test.tsv), at most two levels down. */
export function workspaceCorpusFolders(): CorpusFolder[] {
  const found: CorpusFolder[] = [];
  for (const ws of vscode.workspace.workspaceFolders ?? []) {
    if (ws.uri.scheme !== 'file') continue;
    for (const dir of [ws.uri.fsPath, ...subdirs(ws.uri.fsPath)]) {
      const corpora = subdirs(dir).filter(isCorpus).map((d) => path.basename(d)).sort();
      if (corpora.length) found.push({ root: dir, origin: 'workspace', corpora });
    }
  }
  return found;
}

/**
 * Corpus folders in the order they are preferred: the one the settings name, the workspace's, then the
 * server's default (asked from the server, which knows $METABIONER_CORPORA and its own defaults).
 */
export async function corpusFolders(ctx: Ctx): Promise<CorpusFolder[]> {
  const folders: CorpusFolder[] = [];
  const add = (f: CorpusFolder) => {
    if (f.corpora.length && !folders.some((x) => path.resolve(x.root) === path.resolve(f.root))) folders.push(f);
  };
  const ask = async (corporaRoot: string | undefined, origin: string) => {
    try {
      const r = await ctx.ready.sendRequest(P.CorporaRequest.type, { corporaRoot });
      add({ root: r.root, origin, corpora: r.corpora });
    } catch {
      /* not running: the panel shows the server state */
    }
  };
  if (ctx.config.corporaRoot) await ask(ctx.config.corporaRoot, 'settings');
  for (const f of workspaceCorpusFolders()) add(f);
  if (!ctx.config.corporaRoot) await ask(undefined, 'default');
  return folders;
}
