/**
 * A real LSP client for the integration tests: it starts the language server as a child process over node
 * IPC (from the TypeScript sources through tsx, or the bundle in dist/) and speaks the protocol with
 * vscode-languageserver-protocol, as vscode-languageclient does. Waiting is on messages, never on time.
 */
import { ChildProcess, fork, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  ApplyWorkspaceEditParams,
  ApplyWorkspaceEditRequest,
  ConfigurationRequest,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  NotificationType,
  ProtocolConnection,
  PublishDiagnosticsNotification,
  PublishDiagnosticsParams,
  Range,
  ShutdownRequest,
  TextDocumentContentChangeEvent,
  WorkDoneProgressCreateRequest,
} from 'vscode-languageserver-protocol';
import { createProtocolConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-languageserver-protocol/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import * as P from '../../server/protocol';
import { readModelInfo } from '../../training/model/model-io';

const root = path.resolve(__dirname, '..', '..');

export interface StartOptions {
  storageDir: string;
  settings?: Partial<P.Settings>;
  env?: Record<string, string>;
  /** Run dist/server.js instead of the sources. */
  bundled?: boolean;
  /** Client capabilities beyond the test client's own (merged into its workspace capabilities). */
  workspaceCapabilities?: Record<string, unknown>;
  /** Largest file the server process may write, in KiB (`ulimit -f`): writes beyond fail with EFBIG, as on a full disk. */
  fileSizeLimitKiB?: number;
}

interface Recorded {
  method: string;
  params: unknown;
}

export class TestClient {
  readonly connection: ProtocolConnection;
  private readonly docs = new Map<string, TextDocument>();
  private readonly recorded: Recorded[] = [];
  private readonly waiters: { method: string; test: (p: unknown) => boolean; resolve: (p: unknown) => void }[] = [];
  /** The exit code of the server process, once it has exited. */
  readonly exited: Promise<number | null>;
  stderr = '';
  /** The workspace folders the client reports (workspace/workspaceFolders); a test may change them. */
  workspaceFolders: string[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly options: StartOptions,
  ) {
    this.connection = createProtocolConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.stdout?.on('data', () => undefined);
    const record = (method: string) => (params: unknown) => {
      this.recorded.push({ method, params });
      for (const w of [...this.waiters]) {
        if (w.method === method && w.test(params)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(params);
        }
      }
    };
    for (const t of [P.StatusNotification.type, P.PublishEntitiesNotification.type, P.JobMetricsNotification.type, P.JobStateNotification.type, PublishDiagnosticsNotification.type]) {
      this.connection.onNotification(t as NotificationType<unknown>, record(t.method));
    }
    this.connection.onNotification('$/progress', record('$/progress'));
    this.connection.onNotification('window/logMessage', () => undefined);
    this.connection.onNotification('window/showMessage', record('window/showMessage'));
    this.connection.onRequest(ConfigurationRequest.type, (p) => p.items.map(() => options.settings ?? {}));
    this.connection.onRequest(WorkDoneProgressCreateRequest.type, () => null);
    this.connection.onRequest('workspace/workspaceFolders', () => this.workspaceFolders.map((f) => ({ uri: pathToFileURL(f).href, name: path.basename(f) })));
    this.connection.onRequest(ApplyWorkspaceEditRequest.type, (p: ApplyWorkspaceEditParams) => {
      for (const [uri, edits] of Object.entries(p.edit.changes ?? {})) {
        const doc = this.docs.get(uri);
        if (!doc) return { applied: false, failureReason: `${uri} is not open` };
        this.change(uri, TextDocument.applyEdits(doc, edits));
      }
      return { applied: true };
    });
    this.connection.listen();
  }

  static async start(options: StartOptions): Promise<TestClient> {
    const client = TestClient.spawn(options);
    await client.initialize();
    return client;
  }

  /** The server process and its connection, before initialize (for tests of the LSP lifecycle). */
  static spawn(options: StartOptions): TestClient {
    const entry = options.bundled ? path.join(root, 'dist', 'server.js') : path.join(root, 'server', 'main.ts');
    const execArgv = [...P.SERVER_LAUNCH.execArgv, ...(options.bundled ? [] : ['--import', 'tsx'])];
    const spawnOptions = {
      cwd: root,
      env: { ...process.env, ...P.SERVER_LAUNCH.env, METABIONER_CACHE: path.join(options.storageDir, 'cache'), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'] as ('ignore' | 'pipe' | 'ipc')[],
    };
    // Started as the extension starts it (server/protocol.ts SERVER_LAUNCH); under a file size limit through a shell.
    const child =
      options.fileSizeLimitKiB === undefined
        ? fork(entry, ['--node-ipc'], { ...spawnOptions, execArgv })
        : spawn('/bin/bash', ['-c', `ulimit -f ${options.fileSizeLimitKiB} && exec "$@"`, 'bash', process.execPath, ...execArgv, entry, '--node-ipc'], spawnOptions);
    return new TestClient(child, options);
  }

  /** The initialize request and the initialized notification, as a client sends them first. */
  async initialize(workspaceFolders: string[] = []): Promise<void> {
    this.workspaceFolders = workspaceFolders;
    await this.connection.sendRequest(InitializeRequest.type, {
      processId: process.pid,
      rootUri: null,
      workspaceFolders: workspaceFolders.map((f) => ({ uri: pathToFileURL(f).href, name: path.basename(f) })),
      capabilities: { workspace: { configuration: true, applyEdit: true, ...this.options.workspaceCapabilities }, window: { workDoneProgress: true } },
      initializationOptions: { storageDir: this.options.storageDir, settings: this.options.settings } satisfies P.InitializationOptions,
    });
    await this.connection.sendNotification(InitializedNotification.type, {});
  }

  /** Resolves with the first notification of `method` (already received or to come) that passes `test`. */
  waitFor<T>(type: { method: string }, test: (p: T) => boolean = () => true): Promise<T> {
    const seen = this.recorded.find((r) => r.method === type.method && test(r.params as T));
    if (seen) return Promise.resolve(seen.params as T);
    return new Promise((resolve) => this.waiters.push({ method: type.method, test: test as (p: unknown) => boolean, resolve: resolve as (p: unknown) => void }));
  }

  /** Like waitFor, but only for notifications that arrive after this call. */
  next<T>(type: { method: string }, test: (p: T) => boolean = () => true): Promise<T> {
    return new Promise((resolve) => this.waiters.push({ method: type.method, test: test as (p: unknown) => boolean, resolve: resolve as (p: unknown) => void }));
  }

  received<T>(type: { method: string }): T[] {
    return this.recorded.filter((r) => r.method === type.method).map((r) => r.params as T);
  }

  ready(): Promise<P.ServerStatus> {
    return this.waitFor<P.ServerStatus>(P.StatusNotification.type, (s) => s.state !== 'loading');
  }

  /** Opens a file (its text from disk unless given) and resolves once its complete entities are published. */
  open(file: string, text?: string, languageId = 'plaintext'): { uri: string; entities: Promise<P.PublishEntitiesParams> } {
    const uri = pathToFileURL(file).href;
    const doc = TextDocument.create(uri, languageId, 1, text ?? fs.readFileSync(file, 'utf8'));
    this.docs.set(uri, doc);
    const entities = this.entitiesOf(uri, 1);
    void this.connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId, version: 1, text: doc.getText() } });
    return { uri, entities };
  }

  /** The complete entities published for `version` of `uri` (or a later version). */
  entitiesOf(uri: string, version: number): Promise<P.PublishEntitiesParams> {
    return this.waitFor<P.PublishEntitiesParams>(P.PublishEntitiesNotification.type, (p) => p.uri === uri && p.version >= version && p.complete);
  }

  text(uri: string): string {
    return this.docs.get(uri)!.getText();
  }

  /** Replaces the whole text, or applies ranged changes; returns the new version. */
  change(uri: string, next: string | { range: Range; text: string }[]): number {
    const doc = this.docs.get(uri)!;
    const changes: TextDocumentContentChangeEvent[] = typeof next === 'string' ? [{ text: next }] : next;
    const updated = TextDocument.update(doc, changes, doc.version + 1);
    this.docs.set(uri, updated);
    void this.connection.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version: updated.version }, contentChanges: changes });
    return updated.version;
  }

  close(uri: string): void {
    this.docs.delete(uri);
    void this.connection.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  diagnostics(uri: string): Promise<PublishDiagnosticsParams> {
    return this.waitFor<PublishDiagnosticsParams>(PublishDiagnosticsNotification.type, (p) => p.uri === uri && p.diagnostics.length > 0);
  }

  positionAt(uri: string, offset: number): Range['start'] {
    return this.docs.get(uri)!.positionAt(offset);
  }

  rangeOf(uri: string, words: string, from = 0): Range {
    const doc = this.docs.get(uri)!;
    const start = doc.getText().indexOf(words, from);
    if (start < 0) throw new Error(`"${words}" is not in ${uri}`);
    return { start: doc.positionAt(start), end: doc.positionAt(start + words.length) };
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) {
      await this.connection.sendRequest(ShutdownRequest.type);
      await this.connection.sendNotification(ExitNotification.type);
    }
    const code = await this.exited;
    this.connection.dispose();
    return code;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }
}

/**
 * One server for a whole test file: started (and ready) before its tests, stopped after them (exit code 0
 * checked), its temporary folder removed. `client` is the live client once the tests run.
 */
export function sharedServer(prefix: string, settings: Partial<P.Settings>): { tmp: string; readonly client: TestClient; request<Q, R>(type: { method: string }, params: Q): Promise<R> } {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  let client: TestClient | undefined;
  before(async () => {
    client = await TestClient.start({ storageDir: path.join(tmp, 'storage'), settings });
    const status = await client.ready();
    if (status.state !== 'ready') throw new Error(`the server did not start: ${status.message}`);
  });
  after(async () => {
    const code = await client?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
    if (code !== 0) throw new Error(`the server exited with code ${code}`);
  });
  return {
    tmp,
    get client(): TestClient {
      if (!client) throw new Error('the server has not started');
      return client;
    },
    request: <Q, R>(type: { method: string }, params: Q) => client!.connection.sendRequest(type.method, params) as Promise<R>,
  };
}

/** What the shipped default model says about itself (name and types change when it is retrained). */
export const shipped = readModelInfo(path.resolve(__dirname, '..', '..', 'models', 'default'));
