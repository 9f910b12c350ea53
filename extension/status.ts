import * as vscode from 'vscode';
import * as P from '../server/protocol';
import { Ctx, DOCUMENT_SELECTOR } from './ctx';

export function statusText(s: P.ServerStatus): { text: string; detail: string; busy: boolean; error: boolean } {
  switch (s.state) {
    case 'ready':
      return { text: `MetaBioNER: ${s.model?.name ?? '?'}`, detail: `${s.model?.types.join(', ') ?? ''} · backend ${s.backend ?? '?'}`, busy: false, error: false };
    case 'loading':
      return { text: 'MetaBioNER: loading', detail: s.message ?? 'loading the model', busy: true, error: false };
    default:
      return { text: 'MetaBioNER: error', detail: s.message ?? 'the language server is not available', busy: false, error: true };
  }
}

/** Server health in the status bar (always) and as a language status item (for tagged documents). */
export function registerStatus(ctx: Ctx): void {
  const bar = vscode.window.createStatusBarItem('metabioner.status', vscode.StatusBarAlignment.Right, 100);
  bar.name = 'MetaBioNER';
  bar.command = 'metabioner.pickModel';
  const lang = vscode.languages.createLanguageStatusItem('metabioner.language', DOCUMENT_SELECTOR);
  lang.name = 'MetaBioNER';
  lang.command = { title: 'Show output', command: 'metabioner.showOutput' };
  const update = (s: P.ServerStatus) => {
    const t = statusText(s);
    bar.text = `${t.busy ? '$(sync~spin)' : t.error ? '$(error)' : '$(symbol-class)'} ${t.text}`;
    bar.tooltip = `${t.text}\n${t.detail}\nClick to choose the active model.`;
    // What the tests (and screen readers) read: the state first.
    bar.accessibilityInformation = { label: `MetaBioNER ${s.state}: ${t.detail}` };
    bar.backgroundColor = t.error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    lang.text = t.text.replace('MetaBioNER: ', '');
    lang.detail = t.detail;
    lang.busy = t.busy;
    lang.severity = t.error ? vscode.LanguageStatusSeverity.Error : vscode.LanguageStatusSeverity.Information;
  };
  update(ctx.status);
  bar.show();
  ctx.push(bar, lang, ctx.onStatus(update));
}
