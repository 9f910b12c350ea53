/**
 * Entry point of the MetaBioNER extension (bundled as dist/extension.js). One `Ctx` owns the language client
 * and every disposable; features are wired here and nowhere else.
 */
import * as vscode from 'vscode';
import type * as P from '../server/protocol';
import * as commands from './commands';
import { Ctx } from './ctx';
import { Entities, LegendView } from './entities';
import { HardnessView } from './hardness';
import { registerStatus } from './status';
import { TrainingView } from './training-view';

let ctx: Ctx | undefined;

/** What `activate` returns (for other extensions and the tests in VS Code, test/vscode/). */
export interface MetaBioNerApi {
  status(): P.ServerStatus;
  /** Resolves once the server is ready (or failed): on its status notification, never on a timer. */
  settled(): Promise<P.ServerStatus>;
  /** The entities last published for a document, if any. */
  entities(uri: vscode.Uri): P.Entity[] | undefined;
  /** Resolves with the entities of the next publication for `uri` that `accept` accepts (or the current one). */
  entitiesWhere(uri: vscode.Uri, accept: (e: P.Entity[]) => boolean): Promise<P.Entity[]>;
}

export async function activate(context: vscode.ExtensionContext): Promise<MetaBioNerApi> {
  const c = (ctx = new Ctx(context));
  const entities = new Entities(c);
  new LegendView(c, entities);
  new HardnessView(c);
  new TrainingView(c);
  registerStatus(c);

  c.registerCommand('metabioner.toggleEntities', commands.toggleEntities);
  c.registerCommand('metabioner.labelSelection', commands.labelSelection(entities));
  c.registerCommand('metabioner.acceptPrediction', commands.acceptPrediction(entities));
  c.registerCommand('metabioner.rejectPrediction', commands.rejectPrediction(entities));
  c.registerCommand('metabioner.removeLabel', commands.removeLabel(entities));
  c.registerCommand('metabioner.adaptOnSelection', commands.adaptOnSelection(entities));
  c.registerCommand('metabioner.undoModel', commands.undoModel);
  c.registerCommand('metabioner.pickModel', commands.pickModel);
  c.registerCommand('metabioner.restartServer', commands.restartServer);
  c.registerCommand('metabioner.showOutput', commands.showOutput);

  await c.start();
  entities.renderAll();

  const when = <T>(event: vscode.Event<unknown>, probe: () => T | undefined): Promise<T> =>
    new Promise((resolve) => {
      const now = probe();
      if (now !== undefined) return resolve(now);
      const sub = event(() => {
        const v = probe();
        if (v !== undefined) {
          sub.dispose();
          resolve(v);
        }
      });
    });
  return {
    status: () => c.status,
    settled: () => when(c.onStatus, () => (c.status.state === 'loading' ? undefined : c.status)),
    entities: (uri) => entities.get(uri)?.entities,
    entitiesWhere: (uri, accept) =>
      when(entities.onDidChange, () => {
        const e = entities.get(uri)?.entities;
        return e && accept(e) ? e : undefined;
      }),
  };
}

export async function deactivate(): Promise<void> {
  await ctx?.dispose();
  ctx = undefined;
}
