import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, LanguageClientOptions, ServerOptions, State, TransportKind } from 'vscode-languageclient/node';
import * as P from '../server/protocol';
import { ClientConfig, readConfig } from './config';

/** The documents the server tags: plain text, Markdown and CoNLL/IOB files, on disk or untitled. */
export const DOCUMENT_SELECTOR = [
  { language: 'plaintext' },
  { language: 'markdown' },
  { language: 'conll' },
  { pattern: '**/*.{conll,iob,bio,tsv}' },
];

export function isTagged(doc: vscode.TextDocument): boolean {
  return vscode.languages.match(DOCUMENT_SELECTOR, doc) > 0;
}

/**
 * The one object that owns the language client and every disposable of the extension (rust-analyzer's
 * `Ctx`). Features subscribe to its events; nothing else holds the client.
 */
export class Ctx implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly statusEmitter = new vscode.EventEmitter<P.ServerStatus>();
  private readonly configEmitter = new vscode.EventEmitter<ClientConfig>();
  readonly onStatus = this.statusEmitter.event;
  readonly onConfig = this.configEmitter.event;
  readonly output: vscode.LogOutputChannel;
  client: LanguageClient | undefined;
  status: P.ServerStatus = { state: 'loading', message: 'starting the language server' };
  config: ClientConfig = readConfig();

  constructor(readonly extension: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('MetaBioNER', { log: true });
    this.push(this.output, this.statusEmitter, this.configEmitter);
    this.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('metabioner')) return;
        this.config = readConfig();
        this.configEmitter.fire(this.config);
      }),
    );
  }

  push(...items: vscode.Disposable[]): void {
    this.disposables.push(...items);
  }

  /** A command registered for the lifetime of the extension, built by a factory `(ctx) => handler`. */
  registerCommand(id: string, factory: (ctx: Ctx) => (...args: any[]) => unknown): void {
    this.push(vscode.commands.registerCommand(id, factory(this)));
  }

  private readonly clientHooks: ((client: LanguageClient) => void)[] = [];

  /** Runs `hook` on every client this context creates, before it starts (so that no notification is missed). */
  onClient(hook: (client: LanguageClient) => void): void {
    this.clientHooks.push(hook);
  }

  async start(): Promise<void> {
    const module = this.extension.asAbsolutePath(path.join('dist', 'server.js'));
    // Node options and environment that keep the long-lived server's memory down (see SERVER_LAUNCH).
    const env = { ...process.env, ...P.SERVER_LAUNCH.env };
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc, options: { execArgv: [...P.SERVER_LAUNCH.execArgv], env } },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: [...P.SERVER_LAUNCH.execArgv, '--nolazy', '--inspect=6009'], env } },
    };
    const storageDir = this.extension.globalStorageUri.fsPath;
    fs.mkdirSync(storageDir, { recursive: true });
    const initializationOptions: P.InitializationOptions = { storageDir };
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      initializationOptions,
      synchronize: { configurationSection: 'metabioner' },
      outputChannel: this.output,
    };
    const client = new LanguageClient('metabioner', 'MetaBioNER', serverOptions, clientOptions);
    this.client = client;
    this.push(
      client.onDidChangeState((e) => {
        if (e.newState === State.Stopped) this.setStatus({ state: 'error', message: 'the language server stopped' });
      }),
    );
    client.onNotification(P.StatusNotification.type, (s) => this.setStatus(s));
    for (const hook of this.clientHooks) hook(client);
    this.setStatus({ state: 'loading', message: 'starting the language server' });
    try {
      await client.start();
      this.setStatus(await client.sendRequest(P.StatusRequest.type));
    } catch (err) {
      this.setStatus({ state: 'error', message: `the language server did not start: ${(err as Error).message}` });
    }
  }

  private setStatus(s: P.ServerStatus): void {
    this.status = s;
    this.statusEmitter.fire(s);
  }

  /** The running client, or an error the commands show. */
  get ready(): LanguageClient {
    if (!this.client || !this.client.isRunning()) throw new Error('The MetaBioNER language server is not running (see the MetaBioNER output).');
    return this.client;
  }

  async restart(): Promise<void> {
    if (this.client) await this.client.stop().catch(() => undefined);
    this.client = undefined;
    await this.start();
  }

  async dispose(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    for (const d of this.disposables.splice(0).reverse()) d.dispose();
    if (client) await client.stop().catch(() => undefined);
  }
}

/** Runs a command body and shows what went wrong (server refusals carry their reason). */
export async function reportErrors<T>(what: string, body: () => Promise<T>): Promise<T | undefined> {
  try {
    return await body();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    void vscode.window.showErrorMessage(`MetaBioNER: ${what}: ${message}`);
    return undefined;
  }
}
