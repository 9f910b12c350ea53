import * as vscode from 'vscode';
import * as P from '../server/protocol';
import { Ctx, isTagged } from './ctx';
import { BACKGROUND_ALPHA, backgroundColourId, colourId, familyOf } from './palette';

interface Published {
  version: number;
  model: string;
  entities: P.Entity[];
}

/**
 * The entities the server publishes, per document, and their decorations: one decoration type per entity
 * type and source (predictions dashed, the user's labels solid and stronger), coloured from the theme
 * (`metabioner.entity.*`) unless `metabioner.decorations.colors` overrides a type.
 */
export class Entities implements vscode.Disposable {
  private readonly byUri = new Map<string, Published>();
  private readonly styles = new Map<string, vscode.TextEditorDecorationType>();
  private readonly changed = new vscode.EventEmitter<string>();
  readonly onDidChange = this.changed.event;
  private visibleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: Ctx) {
    ctx.push(
      this,
      vscode.window.onDidChangeVisibleTextEditors(() => this.renderAll()),
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => this.visibleRangesChanged(e.textEditor)),
      vscode.workspace.onDidCloseTextDocument((d) => this.byUri.delete(d.uri.toString())),
      ctx.onConfig(() => {
        this.resetStyles();
        this.renderAll();
      }),
    );

    ctx.onClient((client) => client.onNotification(P.PublishEntitiesNotification.type, (p) => this.publish(p)));
  }

  get(uri: vscode.Uri): Published | undefined {
    return this.byUri.get(uri.toString());
  }

  /** The entity under the cursor or touching the selection, optionally of one source. */
  at(editor: vscode.TextEditor, source?: P.Entity['source']): P.Entity | undefined {
    const published = this.get(editor.document.uri);
    if (!published) return undefined;
    const sel = editor.selection;
    return published.entities.find((e) => (!source || e.source === source) && this.range(e).intersection(sel) !== undefined && (!sel.isEmpty || this.range(e).contains(sel.active)));
  }

  range(e: P.Entity): vscode.Range {
    return new vscode.Range(e.range.start.line, e.range.start.character, e.range.end.line, e.range.end.character);
  }

  private publish(p: P.PublishEntitiesParams): void {
    const prev = this.byUri.get(p.uri);
    if (prev && prev.version > p.version) return;
    this.byUri.set(p.uri, { version: p.version, model: p.model, entities: p.entities });
    for (const editor of vscode.window.visibleTextEditors) if (editor.document.uri.toString() === p.uri) this.render(editor);
    this.changed.fire(p.uri);
  }

  private style(type: string, source: P.Entity['source']): vscode.TextEditorDecorationType {
    const key = `${source}:${type}`;
    let style = this.styles.get(key);
    if (!style) {
      const family = familyOf(type);
      const override = this.ctx.config.decorations.colors[type];
      const border = override ? override.slice(0, 7) : new vscode.ThemeColor(colourId(family));
      const background = override ? override.slice(0, 7) + (source === 'annotation' ? '66' : BACKGROUND_ALPHA) : new vscode.ThemeColor(backgroundColourId(family));
      style = vscode.window.createTextEditorDecorationType({
        backgroundColor: background,
        borderColor: border,
        borderStyle: source === 'prediction' ? 'none none dashed none' : 'none none solid none',
        borderWidth: source === 'prediction' ? '0 0 2px 0' : '0 0 3px 0',
        fontWeight: source === 'annotation' ? '600' : undefined,
        overviewRulerColor: border,
        overviewRulerLane: vscode.OverviewRulerLane.Right,
        rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
      });
      this.styles.set(key, style);
    }
    return style;
  }

  private resetStyles(): void {
    for (const s of this.styles.values()) s.dispose();
    this.styles.clear();
  }

  render(editor: vscode.TextEditor): void {
    const published = this.get(editor.document.uri);
    // Entities of an older version: keep the current decorations (VS Code moves them with the edits); newer ones are on their way.
    if (published && published.version !== editor.document.version) return;
    const groups = new Map<string, vscode.DecorationOptions[]>();
    if (published && this.ctx.config.decorations.enabled) {
      for (const e of published.entities) {
        const key = `${e.source}:${e.type}`;
        if (!groups.has(key)) groups.set(key, []);
        groups.get(key)!.push({ range: this.range(e) });
      }
    }
    for (const [key, style] of this.styles) editor.setDecorations(style, groups.get(key) ?? []);
    for (const [key, ranges] of groups) {
      const [source, ...type] = key.split(':');
      if (!this.styles.has(key)) editor.setDecorations(this.style(type.join(':'), source as P.Entity['source']), ranges);
    }
  }

  renderAll(): void {
    for (const editor of vscode.window.visibleTextEditors) {
      this.render(editor);
      this.visibleRangesChanged(editor);
    }
  }

  /** Tells the server what the editor shows, so that a large document is tagged there first. */
  private visibleRangesChanged(editor: vscode.TextEditor): void {
    if (!isTagged(editor.document) || !this.ctx.client?.isRunning()) return;
    if (this.visibleTimer) clearTimeout(this.visibleTimer);
    this.visibleTimer = setTimeout(() => {
      const client = this.ctx.client;
      if (!client?.isRunning()) return;
      void client.sendNotification(P.VisibleRangesNotification.type, {
        textDocument: { uri: editor.document.uri.toString() },
        ranges: editor.visibleRanges.map((r) => client.code2ProtocolConverter.asRange(r)),
      });
    }, 100);
  }

  /** Types seen in the open documents, with counts per source. */
  legend(uri?: string): Map<string, { predicted: number; labelled: number }> {
    const counts = new Map<string, { predicted: number; labelled: number }>();
    const docs = uri ? [this.byUri.get(uri)].filter((d): d is Published => !!d) : [...this.byUri.values()];
    for (const d of docs) {
      for (const e of d.entities) {
        const c = counts.get(e.type) ?? { predicted: 0, labelled: 0 };
        if (e.source === 'prediction') c.predicted++;
        else c.labelled++;
        counts.set(e.type, c);
      }
    }
    return counts;
  }

  dispose(): void {
    this.resetStyles();
    this.changed.dispose();
    if (this.visibleTimer) clearTimeout(this.visibleTimer);
  }
}

/** The legend: every type of the active model and of the active document, its colour and its counts. */
export class LegendView implements vscode.TreeDataProvider<string> {
  static readonly viewType = 'metabioner.legend';
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(
    private readonly ctx: Ctx,
    private readonly entities: Entities,
  ) {
    const refresh = () => this.changed.fire();
    ctx.push(this.changed, vscode.window.registerTreeDataProvider(LegendView.viewType, this), entities.onDidChange(refresh), ctx.onStatus(refresh), ctx.onConfig(refresh), vscode.window.onDidChangeActiveTextEditor(refresh));
  }

  private counts() {
    const uri = vscode.window.activeTextEditor?.document.uri.toString();
    return this.entities.legend(uri);
  }

  getChildren(): string[] {
    const types = new Set([...(this.ctx.status.model?.types ?? []), ...this.counts().keys()]);
    return [...types];
  }

  getTreeItem(type: string): vscode.TreeItem {
    const c = this.counts().get(type) ?? { predicted: 0, labelled: 0 };
    const override = this.ctx.config.decorations.colors[type];
    const item = new vscode.TreeItem(type);
    item.iconPath = new vscode.ThemeIcon('circle-large-filled', override ? undefined : new vscode.ThemeColor(colourId(familyOf(type))));
    item.description = `${c.predicted} predicted · ${c.labelled} labelled`;
    item.tooltip = new vscode.MarkdownString(
      `**${type}**${override ? ` (colour ${override} from settings)` : ''}\n\nPredictions are underlined dashed, your labels solid and bold.${this.ctx.status.model?.types.includes(type) ? '' : '\n\nNot a type of the active model.'}`,
    );
    return item;
  }
}
