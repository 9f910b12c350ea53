/// <reference types="mocha" />
/**
 * The editor scenarios inside VS Code's extension host (@vscode/test-cli + @vscode/test-electron, for
 * machines that can download VS Code: `npm run test:vscode`). They share the workspace, the settings and the
 * expectations of the browser-driven tests (test/e2e/scenarios.ts) and check the same outcomes through the
 * extension's API and VS Code's, instead of the DOM. Bundled to out/test/vscode/ by scripts/vscode-test-prepare.ts.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MetaBioNerApi } from '../../extension/main';
import { familyOf } from '../../extension/palette';
import { DOCS, expectedFamilies, NEW_TYPE, NEW_TYPE_LABELS } from '../e2e/scenarios';

const folder = () => vscode.workspace.workspaceFolders![0].uri;
const uriOf = (rel: string) => vscode.Uri.joinPath(folder(), rel);
let api: MetaBioNerApi;

async function open(rel: string): Promise<vscode.TextEditor> {
  return vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uriOf(rel)));
}

function select(editor: vscode.TextEditor, text: string): void {
  const at = editor.document.getText().indexOf(text);
  assert.ok(at >= 0, text);
  editor.selection = new vscode.Selection(editor.document.positionAt(at), editor.document.positionAt(at + text.length));
}

suite('MetaBioNER in VS Code', function () {
  this.timeout(180_000);

  suiteSetup(async () => {
    const ext = vscode.extensions.getExtension<MetaBioNerApi>('metabioner.metabioner')!;
    api = await ext.activate();
    assert.equal((await api.settled()).state, 'ready');
  });

  test('1. a sample abstract: entities of the model\'s families, hover with type and confidence', async () => {
    const editor = await open(DOCS.abstract);
    const entities = await api.entitiesWhere(editor.document.uri, (e) => expectedFamilies.every((f) => e.some((x) => familyOf(x.type) === f)));
    const e = entities.find((x) => x.source === 'prediction')!;
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', editor.document.uri, new vscode.Position(e.range.start.line, e.range.start.character + 1));
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(text, new RegExp(`${e.type}.*confidence [01]\\.\\d\\d`));
  });

  test('2. label two sentences with a new type, adapt: the type appears in another document', async () => {
    const other = await vscode.workspace.openTextDocument(uriOf(DOCS.followUp));
    const editor = await open(DOCS.cellLines);
    for (const label of NEW_TYPE_LABELS) {
      select(editor, label);
      await vscode.commands.executeCommand('metabioner.labelSelection', NEW_TYPE);
    }
    assert.equal(fs.readFileSync(uriOf(DOCS.cellLines).fsPath.replace(/\.txt$/, '.ann'), 'utf8').split(`\t${NEW_TYPE} `).length, 3);
    editor.selection = new vscode.Selection(0, 0, editor.document.lineCount, 0);
    await vscode.commands.executeCommand('metabioner.adaptOnSelection');
    await vscode.window.showTextDocument(other);
    await api.entitiesWhere(other.uri, (e) => e.some((x) => x.type === NEW_TYPE));
    await vscode.commands.executeCommand('metabioner.undoModel');
  });

  test('4. hardness: the view\'s command samples tasks (γ in [0, 1])', async () => {
    await vscode.commands.executeCommand('metabioner.hardness');
    assert.equal(api.status().state, 'ready');
  });

  test('5. a malformed CoNLL file: a diagnostic; an empty selection changes nothing', async () => {
    const editor = await open(DOCS.malformed);
    const diagnostics = await new Promise<vscode.Diagnostic[]>((resolve) => {
      const now = vscode.languages.getDiagnostics(editor.document.uri);
      if (now.length) return resolve(now);
      const sub = vscode.languages.onDidChangeDiagnostics(() => {
        const d = vscode.languages.getDiagnostics(editor.document.uri);
        if (d.length) {
          sub.dispose();
          resolve(d);
        }
      });
    });
    assert.match(diagnostics[0].message, /tab-separated fields/);
    const abstract = await open(DOCS.abstract);
    abstract.selection = new vscode.Selection(0, 0, 0, 0);
    await vscode.commands.executeCommand('metabioner.adaptOnSelection');
    assert.equal(api.status().state, 'ready');
    assert.ok(fs.existsSync(path.join(folder().fsPath, DOCS.abstract)));
  });
});
