import * as crypto from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import * as M from '../media/messages';
import * as P from '../server/protocol';
import { corpusFolders } from './corpora';
import { Ctx } from './ctx';

const HISTORY_CAP = 2000;
const HISTORY_KEY = 'metabioner.jobHistory';

/**
 * Host side of the training panel (an activity-bar WebviewView): it owns the jobs' metrics history (kept
 * in the global state, so charts survive a window reload), relays the server's job notifications to the
 * webview and turns the webview's commands into server requests. Messages are typed in media/messages.ts.
 */
export class TrainingView implements vscode.WebviewViewProvider {
  static readonly viewType = 'metabioner.training';
  private view: vscode.WebviewView | undefined;
  private readonly jobs = new Map<string, M.JobView>();
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: Ctx) {
    const saved = ctx.extension.globalState.get<Record<string, P.JobMetrics[]>>(HISTORY_KEY) ?? {};
    this.saved = saved;
    ctx.push(
      vscode.window.registerWebviewViewProvider(TrainingView.viewType, this),
      ctx.onStatus(() => void this.pushState()),
      ctx.onConfig(() => void this.pushState()),
      { dispose: () => this.saveTimer && this.save() },
    );
    ctx.onClient((client) => this.attach(client));
  }

  private saved: Record<string, P.JobMetrics[]>;

  /** Subscribes to the server's job notifications, on every client the context starts. */
  private attach(client: LanguageClient): void {
    client.onNotification(P.JobMetricsNotification.type, (p) => {
      const job = this.jobs.get(p.id);
      if (job) {
        job.metrics = p.metrics;
        job.history.push(p.metrics);
        if (job.history.length > HISTORY_CAP) job.history.splice(0, job.history.length - HISTORY_CAP);
        this.scheduleSave();
      }
      this.post(M.MetricsNotification, p);
    });
    client.onNotification(P.JobStateNotification.type, (info) => {
      this.upsert(info);
      this.save();
      this.post(M.JobNotification, info);
      if (info.state === 'finished' || info.state === 'failed') void this.pushState();
    });
  }

  private upsert(info: P.JobInfo): M.JobView {
    const prev = this.jobs.get(info.id);
    const job: M.JobView = { ...info, history: prev?.history ?? this.saved[info.id] ?? (info.metrics ? [info.metrics] : []) };
    this.jobs.set(info.id, job);
    return job;
  }

  /** Metrics are saved at most every 2 s while they stream, and at once when a job changes state. */
  private scheduleSave(): void {
    this.saveTimer ??= setTimeout(() => this.save(), 2000);
  }

  private save(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const all: Record<string, P.JobMetrics[]> = {};
    for (const [id, j] of this.jobs) all[id] = j.history.slice(-500);
    this.saved = all;
    void this.ctx.extension.globalState.update(HISTORY_KEY, all);
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const media = vscode.Uri.joinPath(this.ctx.extension.extensionUri, 'dist', 'media');
    view.webview.options = { enableScripts: true, localResourceRoots: [media] };
    view.webview.html = this.html(view.webview, media);
    const sub = view.webview.onDidReceiveMessage((msg: unknown) => void this.onMessage(msg));
    view.onDidDispose(() => {
      sub.dispose();
      if (this.view === view) this.view = undefined;
    });
  }

  private html(webview: vscode.Webview, media: vscode.Uri): string {
    const nonce = crypto.randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(media, 'training.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(media, 'training.css'));
    const csp = [`default-src 'none'`, `img-src ${webview.cspSource} data:`, `style-src ${webview.cspSource} 'nonce-${nonce}'`, `font-src ${webview.cspSource}`, `script-src 'nonce-${nonce}'`].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}" nonce="${nonce}">
<title>MetaBioNER training</title>
</head>
<body>
<div id="app" data-nonce="${nonce}"></div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }

  private post<T>(type: M.IpcNotificationType<T>, params: T): void {
    void this.view?.webview.postMessage(M.message(type, params));
  }

  private async state(): Promise<M.PanelState> {
    const serverState = this.ctx.client?.isRunning() ? this.ctx.status.state : 'stopped';
    const state: M.PanelState = { folders: [], jobs: [], models: [], jobModels: [], serverState, workers: this.ctx.config.workers };
    if (serverState !== 'ready') return state;
    const client = this.ctx.ready;
    const [folders, jobs, models] = await Promise.all([
      corpusFolders(this.ctx),
      client.sendRequest(P.ListJobsRequest.type).catch(() => [] as P.JobInfo[]),
      client.sendRequest(P.ModelsRequest.type).catch(() => undefined),
    ]);
    for (const j of jobs) this.upsert(j);
    state.folders = folders;
    state.jobs = [...this.jobs.values()].sort((a, b) => b.created.localeCompare(a.created));
    state.models = models?.history ?? [];
    state.active = models?.active;
    state.jobModels = state.jobs.filter((j) => j.state === 'finished' && j.modelPath).map((j) => ({ jobId: j.id, path: j.modelPath! }));
    return state;
  }

  private async pushState(): Promise<void> {
    if (!this.view) return;
    this.post(M.StateNotification, await this.state());
  }

  private async onMessage(msg: unknown): Promise<void> {
    try {
      if (M.is(msg, M.ReadyCommand) || M.is(msg, M.RefreshCommand)) return await this.pushState();
      const client = this.ctx.ready;
      if (M.is(msg, M.StartJobCommand)) {
        const job = await client.sendRequest(P.StartJobRequest.type, msg.params);
        this.upsert(job);
        this.post(M.JobNotification, job);
      } else if (M.is(msg, M.StopJobCommand)) {
        this.post(M.JobNotification, await client.sendRequest(P.StopJobRequest.type, msg.params));
      } else if (M.is(msg, M.ResumeJobCommand)) {
        this.post(M.JobNotification, await client.sendRequest(P.ResumeJobRequest.type, msg.params));
      } else if (M.is(msg, M.UseModelCommand)) {
        const m = await client.sendRequest(P.UseModelRequest.type, msg.params);
        void vscode.window.showInformationMessage(`MetaBioNER: model ${m.name} (${m.types.join(', ')}) is now active.`);
        await this.pushState();
      } else if (M.is(msg, M.ExportModelCommand)) {
        await this.exportModel(msg.params.path);
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.post(M.ErrorNotification, { message });
      void vscode.window.showErrorMessage(`MetaBioNER: ${message}`);
    }
  }

  private async exportModel(from: string): Promise<void> {
    const target = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Export the model here', title: 'Export MetaBioNER model' });
    if (!target?.length) return;
    const dest = vscode.Uri.joinPath(target[0], path.basename(from));
    await vscode.workspace.fs.copy(vscode.Uri.file(from), dest, { overwrite: false });
    void vscode.window.showInformationMessage(`MetaBioNER: model exported to ${dest.fsPath}`);
  }
}
