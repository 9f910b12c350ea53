import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import * as P from '../server/protocol';
import { withServerProgress } from './commands';
import { Ctx, reportErrors } from './ctx';
import { corpusFolders } from './corpora';
import { findSentenceLine, sentenceLabel } from './hardness-format';

type Node =
  | { kind: 'task'; task: P.HardnessTask; rank: number }
  | { kind: 'set'; task: P.HardnessTask; set: 'support' | 'query' }
  | { kind: 'sentence'; task: P.HardnessTask; sentence: P.TaskSentence; set: 'support' | 'query' }
  | { kind: 'info'; text: string };

/**
 * Task hardness (Tables 1 and 4 of the paper): tasks sampled from a corpus folder, sorted by γ (hardest
 * first), each with its support and query sentences, entities highlighted; a sentence opens in its corpus file.
 */
export class HardnessView implements vscode.TreeDataProvider<Node> {
  static readonly viewType = 'metabioner.hardness';
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private result: P.HardnessResult | undefined;
  private message = 'Run "MetaBioNER: Compute task hardness" to sample tasks.';

  constructor(private readonly ctx: Ctx) {
    const view = vscode.window.createTreeView(HardnessView.viewType, { treeDataProvider: this, showCollapseAll: true });
    ctx.push(this.changed, view);
    ctx.registerCommand('metabioner.hardness', () => () => this.compute());
    ctx.registerCommand('metabioner.openTaskSentence', () => (n: Node) => this.open(n));
  }

  async compute(): Promise<void> {
    await vscode.commands.executeCommand(`${HardnessView.viewType}.focus`);
    await reportErrors('Task hardness', async () => {
      const { k, tasks, innerSteps } = this.ctx.config.hardness;
      const folders = await corpusFolders(this.ctx);
      const root = folders[0]?.root;
      this.message = `Sampling ${tasks} tasks of K = ${k} from ${root ?? 'the default corpora'}…`;
      this.result = undefined;
      this.changed.fire();
      const r = await withServerProgress(this.ctx, 'MetaBioNER: task hardness', (workDoneToken, cancel) =>
        this.ctx.ready.sendRequest(P.HardnessRequest.type, { corporaRoot: root, k, tasks, innerSteps, seed: Date.now() % 100000, workDoneToken }, cancel),
      ).then(undefined, (err) => {
        this.message = `Task hardness failed: ${(err as Error).message}`;
        this.changed.fire();
        throw err;
      });
      this.result = r;
      this.message = '';
      this.changed.fire();
    });
  }

  getChildren(n?: Node): Node[] {
    if (!n) {
      if (!this.result) return [{ kind: 'info', text: this.message }];
      return [...this.result.tasks].sort((a, b) => b.gamma.theta - a.gamma.theta).map((task, i) => ({ kind: 'task', task, rank: i + 1 }));
    }
    if (n.kind === 'task') return (['support', 'query'] as const).map((set) => ({ kind: 'set', task: n.task, set }));
    if (n.kind === 'set') return n.task[n.set].map((sentence) => ({ kind: 'sentence', task: n.task, sentence, set: n.set }));
    return [];
  }

  getTreeItem(n: Node): vscode.TreeItem {
    switch (n.kind) {
      case 'info':
        return new vscode.TreeItem(n.text);
      case 'task': {
        const item = new vscode.TreeItem(`#${n.rank} ${n.task.corpus}`, vscode.TreeItemCollapsibleState.Collapsed);
        item.description = `γθ ${n.task.gamma.theta.toFixed(3)} · γφ ${n.task.gamma.phi.toFixed(3)} · loss ${n.task.labelLoss.toFixed(2)}`;
        item.tooltip = `${n.task.corpus} (${n.task.domain})\nγ: θ ${n.task.gamma.theta.toFixed(4)}, φ ${n.task.gamma.phi.toFixed(4)}, ω ${n.task.gamma.omega.toFixed(4)}\nquery label loss ${n.task.labelLoss.toFixed(4)}, critic loss ${n.task.criticLoss.toFixed(4)}`;
        item.contextValue = 'hardnessTask';
        return item;
      }
      case 'set': {
        const item = new vscode.TreeItem(n.set === 'support' ? 'Support set' : 'Query set', vscode.TreeItemCollapsibleState.Expanded);
        item.description = `${n.task[n.set].length} sentences`;
        return item;
      }
      case 'sentence': {
        const l = sentenceLabel(n.sentence);
        const item = new vscode.TreeItem({ label: l.text, highlights: l.highlights });
        item.description = l.types.join(', ');
        item.tooltip = `${l.text}\n\nEntities: ${n.sentence.entities.map((e) => `${n.sentence.tokens.slice(e.start, e.end).join(' ')} (${e.type})`).join('; ') || 'none'}`;
        item.command = { title: 'Open in corpus', command: 'metabioner.openTaskSentence', arguments: [n] };
        return item;
      }
    }
  }

  private async open(n: Node): Promise<void> {
    if (n.kind !== 'sentence' || !this.result?.corporaRoot) return;
    for (const split of ['train', 'devel', 'test']) {
      const file = path.join(this.result.corporaRoot, n.task.corpus, `${split}.tsv`);
      if (!fs.existsSync(file)) continue;
      const line = findSentenceLine(await fs.promises.readFile(file, 'utf8'), n.sentence.tokens);
      if (line === undefined) continue;
      const doc = await vscode.workspace.openTextDocument(file);
      await vscode.window.showTextDocument(doc, { selection: new vscode.Range(line, 0, line + n.sentence.tokens.length, 0), preview: true });
      return;
    }
    void vscode.window.showInformationMessage('MetaBioNER: this sentence was not found in its corpus files.');
  }
}
