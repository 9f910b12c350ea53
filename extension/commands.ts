import * as vscode from 'vscode';
import { WorkDoneProgress, WorkDoneProgressBegin, WorkDoneProgressReport } from 'vscode-languageclient/node';
import * as P from '../server/protocol';
import { Ctx, isTagged, reportErrors } from './ctx';
import { Entities } from './entities';

/** Command factories, rust-analyzer style: `(ctx) => handler`. Each returns the handler the palette runs. */
type Factory = (ctx: Ctx) => (...args: any[]) => unknown;

function taggedEditor(): vscode.TextEditor {
  const editor = vscode.window.activeTextEditor;
  if (!editor || !isTagged(editor.document)) throw new Error('Open a text, Markdown or CoNLL document first.');
  return editor;
}

/** A command on the active text/Markdown/CoNLL editor; what goes wrong is shown as an error message. */
const onEditor =
  (what: string, body: (ctx: Ctx, editor: vscode.TextEditor, ...args: any[]) => Promise<unknown>): Factory =>
  (ctx) =>
  (...args: any[]) =>
    reportErrors(what, () => body(ctx, taggedEditor(), ...args));

const docId = (editor: vscode.TextEditor) => ({ uri: editor.document.uri.toString() });
const protocolRange = (ctx: Ctx, r: vscode.Range) => ctx.ready.code2ProtocolConverter.asRange(r);

/** Runs a request that reports LSP work-done progress inside a cancellable VS Code progress notification. */
export function withServerProgress<R>(ctx: Ctx, title: string, run: (token: string, cancel: vscode.CancellationToken) => Promise<R>): Thenable<R> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, cancel) => {
    const token = `metabioner-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    let last = 0;
    const sub = ctx.ready.onProgress(WorkDoneProgress.type, token, (v) => {
      if (v.kind === 'end') return;
      const { message, percentage } = v as WorkDoneProgressBegin | WorkDoneProgressReport;
      const increment = percentage !== undefined ? Math.max(0, percentage - last) : undefined;
      if (percentage !== undefined) last = percentage;
      progress.report({ message, increment });
    });
    try {
      return await run(token, cancel);
    } finally {
      sub.dispose();
    }
  });
}

export const toggleEntities: Factory = () => async () => {
  const c = vscode.workspace.getConfiguration('metabioner');
  await c.update('decorations.enabled', !(c.get<boolean>('decorations.enabled') ?? true), vscode.ConfigurationTarget.Global);
};

export const NEW_TYPE = '$(add) New type…';

export const labelSelection = (entities: Entities): Factory =>
  onEditor('Label selection', async (ctx, editor, preset?: string) => {
    if (editor.selection.isEmpty) throw new Error('Select the words to label first (the selection is empty).');
    let type = preset;
    if (!type) {
      const known = new Set([...(ctx.status.model?.types ?? []), ...entities.legend().keys()]);
      const items: vscode.QuickPickItem[] = [...known].map((t) => ({ label: t })).concat({ label: NEW_TYPE, alwaysShow: true } as vscode.QuickPickItem);
      const picked = await vscode.window.showQuickPick(items, { title: `Label "${editor.document.getText(editor.selection).slice(0, 60)}" as…`, placeHolder: 'Entity type' });
      if (!picked) return;
      type =
        picked.label === NEW_TYPE
          ? await vscode.window.showInputBox({
              title: 'New entity type',
              prompt: 'Name of the new type (letters, digits, - and _)',
              validateInput: (v) => (/^[A-Za-z][\w-]*$/.test(v.trim()) ? undefined : 'Use letters, digits, - and _, starting with a letter.'),
            })
          : picked.label;
      if (!type) return;
    }
    const r = await ctx.ready.sendRequest(P.AddAnnotationRequest.type, { textDocument: docId(editor), range: protocolRange(ctx, editor.selection), type: type.trim() });
    vscode.window.setStatusBarMessage(`MetaBioNER: labelled as ${type} (${r.annotations.length} labels in ${vscode.workspace.asRelativePath(r.file)})`, 5000);
  });

const predictionRequest = (entities: Entities, what: string, type: typeof P.AcceptPredictionRequest.type): Factory =>
  onEditor(what, async (ctx, editor) => {
    const e = entities.at(editor, 'prediction');
    if (!e) throw new Error('Put the cursor on a predicted entity (dashed underline) first.');
    await ctx.ready.sendRequest(type, { textDocument: docId(editor), range: e.range });
  });

export const acceptPrediction = (entities: Entities) => predictionRequest(entities, 'Accept prediction', P.AcceptPredictionRequest.type);
export const rejectPrediction = (entities: Entities) => predictionRequest(entities, 'Reject prediction', P.RejectPredictionRequest.type);

export const removeLabel = (entities: Entities): Factory =>
  onEditor('Remove label', async (ctx, editor) => {
    const e = entities.at(editor, 'annotation');
    if (!e?.id) throw new Error('Put the cursor on one of your labels (solid underline) first.');
    await ctx.ready.sendRequest(P.RemoveAnnotationRequest.type, { textDocument: docId(editor), id: e.id });
  });

export const undoModel: Factory = (ctx) => () =>
  reportErrors('Undo adaptation', async () => {
    const m = await ctx.ready.sendRequest(P.UndoModelRequest.type);
    void vscode.window.showInformationMessage(`MetaBioNER: back to model ${m.name} (${m.types.join(', ')}).`);
  });

export const adaptOnSelection = (entities: Entities): Factory =>
  onEditor('Few-shot adapt on selection', async (ctx, editor) => {
    if (editor.selection.isEmpty) throw new Error('Select the labelled sentences to adapt on first (the selection is empty).');
    const selection = editor.selection;
    const labels = (entities.get(editor.document.uri)?.entities ?? []).filter((e) => e.source === 'annotation' && entities.range(e).intersection(selection));
    const result = await withServerProgress(ctx, 'MetaBioNER: few-shot adaptation', (workDoneToken, cancel) =>
      ctx.ready.sendRequest(P.AdaptRequest.type, { textDocument: docId(editor), range: protocolRange(ctx, selection), workDoneToken }, cancel),
    );
    const learned = [...new Set(labels.map((l) => l.type))].join(', ') || result.model.types.join(', ');
    const choice = await vscode.window.showInformationMessage(
      `MetaBioNER learned ${learned} from ${result.sentences} sentence${result.sentences === 1 ? '' : 's'} and ${labels.length} entit${labels.length === 1 ? 'y' : 'ies'} in ${result.seconds.toFixed(1)} s: model ${result.model.name} (${result.model.types.join(', ')}) is now active.`,
      'Undo',
    );
    if (choice === 'Undo') await vscode.commands.executeCommand('metabioner.undoModel');
  });

export const restartServer: Factory = (ctx) => () => reportErrors('Restart server', () => ctx.restart());

export const showOutput: Factory = (ctx) => () => ctx.output.show();

export const pickModel: Factory = (ctx) => () =>
  reportErrors('Choose model', async () => {
    const r = await ctx.ready.sendRequest(P.ModelsRequest.type);
    const items = [...r.history].reverse().map((m) => ({ label: m.name, description: `${m.types.join(', ')}${m.path === r.active.path ? ' · active' : ''}`, detail: m.path, m }));
    const picked = await vscode.window.showQuickPick(items, { title: 'MetaBioNER: make a model active' });
    if (picked) await ctx.ready.sendRequest(P.UseModelRequest.type, { path: picked.m.path });
  });
