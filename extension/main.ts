/**
 * Entry point of the MetaBioNER extension (bundled as dist/extension.js). One `Ctx` owns the language client
 * and every disposable; features are wired here and nowhere else.
 */
import * as vscode from 'vscode';
import * as commands from './commands';
import { Ctx } from './ctx';
import { Entities, LegendView } from './entities';
import { HardnessView } from './hardness';
import { registerStatus } from './status';
import { TrainingView } from './training-view';

let ctx: Ctx | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  ctx = new Ctx(context);
  const entities = new Entities(ctx);
  new LegendView(ctx, entities);
  new HardnessView(ctx);
  new TrainingView(ctx);
  registerStatus(ctx);

  ctx.registerCommand('metabioner.toggleEntities', commands.toggleEntities);
  ctx.registerCommand('metabioner.labelSelection', commands.labelSelection(entities));
  ctx.registerCommand('metabioner.acceptPrediction', commands.acceptPrediction(entities));
  ctx.registerCommand('metabioner.rejectPrediction', commands.rejectPrediction(entities));
  ctx.registerCommand('metabioner.removeLabel', commands.removeLabel(entities));
  ctx.registerCommand('metabioner.adaptOnSelection', commands.adaptOnSelection(entities));
  ctx.registerCommand('metabioner.undoModel', commands.undoModel);
  ctx.registerCommand('metabioner.pickModel', commands.pickModel);
  ctx.registerCommand('metabioner.restartServer', commands.restartServer);
  ctx.registerCommand('metabioner.showOutput', commands.showOutput);

  await ctx.start();
  entities.renderAll();
}

export async function deactivate(): Promise<void> {
  await ctx?.dispose();
  ctx = undefined;
}
