import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CancellationToken,
  Connection,
  Diagnostic,
  DidChangeConfigurationNotification,
  DiagnosticSeverity,
  ErrorCodes,
  Hover,
  InitializeResult,
  LSPErrorCodes,
  MarkupKind,
  MessageType,
  Range,
  ResponseError,
  ShowMessageNotification,
  TextDocumentSyncKind,
  TextDocuments,
  TextEdit,
  WorkDoneProgressReporter,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { corporaRoot as defaultCorporaRoot, listCorpora } from '../training/data/corpora';
import { spansFromTags } from '../training/data/tagging-scheme';
import { BackendInfo, initBackend } from '../training/engine/backend';
import { processMemory } from '../training/engine/memory';
import { EmbeddingTable } from '../training/embeddings/store';
import { cacheDir } from '../training/io/paths';
import { checkLabel, MAX_LABEL, RejectionStore, StandoffFile } from './annotations';
import { initializationOptions, InvalidParamsError, isReservedKey, Method, oneLine, parseParams, ParamsOf, SCHEMAS } from './contract';
import { AnalysedDoc, analyse, DocSentence, sentencesIn } from './documents';
import { IdleCollector } from './idle';
import { JobManager } from './jobs';
import { ModelHost } from './models';
import * as P from './protocol';
import { SettingsSource } from './settings';
import { SentenceTagger, TagPoolHost } from './tagging';
import type { AdaptOutput, SupportSentence } from './worker/messages';
import { CancelledError, WorkerRun } from './worker/spawn';

/** Documents with more sentences than this get their visible sentences tagged and published first. */
const VISIBLE_FIRST_SENTENCES = 100;
/** Few-shot adaptation runs on a selection's labelled sentences: at most this many (each epoch passes over all). */
const MAX_SUPPORT_SENTENCES = 1000;
/** Documents the client described before opening them (visible ranges) are remembered up to this many. */
const MAX_UNOPENED_STATES = 1024;
/** Assumed visible part of a document the client has not described: its first lines. */
const DEFAULT_VISIBLE: Range = { start: { line: 0, character: 0 }, end: { line: 50, character: 0 } };
/** A visible range is tagged first up to this many characters, about a 50-line, 80-column screen (long wrapped lines make lines a poor measure). */
const VISIBLE_MAX_CHARS = 4000;

interface DocState {
  analysed?: AnalysedDoc;
  timer?: NodeJS.Timeout;
  visible: Range[];
  /** Highest version published, so that an older result never replaces a newer one. */
  published: number;
  standoff?: StandoffFile;
  /** The hidden labels last reported (see HiddenLabel), so that their diagnostics are sent again only when they change. */
  hiddenLabels?: string;
}

/** A label of the user's file that is not shown, and why: a warning diagnostic at its offsets. */
interface HiddenLabel {
  start: number;
  end: number;
  message: string;
}

/** Entities with offsets into the document text, before they become LSP ranges. */
interface Found {
  start: number;
  end: number;
  type: string;
  confidence: number;
  source: P.Entity['source'];
  id?: string;
  sentence?: DocSentence;
}

/** An error the user should read as it is (becomes the LSP error message). */
function fail(message: string): never {
  throw new ResponseError(LSPErrorCodes.RequestFailed, oneLine(message));
}

/** A type or text of the user's file, cut for a message. */
const short = (text: string, max = 60): string => (text.length > max ? `${text.slice(0, max)}…` : text);

/** Errors of the JavaScript engine itself: a bug of the server, whose text means nothing to the user. */
const isBug = (err: unknown): boolean => err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError || err instanceof SyntaxError;

/**
 * The answer to a request that failed: one line, at most MAX_MESSAGE characters. Invalid parameters are
 * `InvalidParams`; a bug is `InternalError` without its engine text (that goes to the log, with the stack).
 */
function asResponseError(method: string, err: unknown, log: (message: string) => void): ResponseError<void> {
  if (err instanceof ResponseError) return new ResponseError(err.code, oneLine(err.message));
  if (err instanceof InvalidParamsError) return new ResponseError(ErrorCodes.InvalidParams, err.message);
  if (err instanceof CancelledError) return new ResponseError(LSPErrorCodes.RequestCancelled, oneLine(err.message));
  if (isBug(err)) {
    log(`MetaBioNER: internal error in ${method}: ${(err as Error).stack ?? String(err)}`);
    return new ResponseError(ErrorCodes.InternalError, `internal error in ${method} (a bug of the MetaBioNER server; details in its log)`);
  }
  return new ResponseError(LSPErrorCodes.RequestFailed, oneLine(err instanceof Error ? err.message : String(err)));
}

/** Where the server is in the LSP lifecycle: requests are answered only between initialize and shutdown. */
type Phase = 'new' | 'running' | 'shutdown';

/**
 * The language server: one object owning the connection, the open documents, the active model, the
 * sentence cache, the label files and the training jobs.
 */
export class MetaBioNerServer {
  private readonly documents = new TextDocuments(TextDocument);
  private readonly states = new Map<string, DocState>();
  /** Sentence cache, and worker threads for large documents (the `workers` setting; 1: main thread only). */
  private readonly tagger = new SentenceTagger(
    undefined,
    new TagPoolHost({
      model: () => (this.models?.model ? { dir: this.models.activeDir, generation: this.models.generation, convention: this.models.activeConvention } : undefined),
      workers: async () => (await this.settings.get()).workers,
      backend: () => this.backend?.name,
      log: (message) => this.connection.console.info(`MetaBioNER: ${message}`),
    }),
  );
  /** Collects the garbage of a burst of work once the server is quiet (see idle.ts). */
  private readonly idle = new IdleCollector();
  private settings!: SettingsSource;
  private storageDir = path.join(cacheDir(), 'server');
  private models!: ModelHost;
  private jobs!: JobManager;
  private rejections!: RejectionStore;
  private backend: BackendInfo | undefined;
  private status: P.ServerStatus = { state: 'loading' };
  private readonly ready: Promise<void>;
  private markReady!: () => void;
  private phase: Phase = 'new';
  private started = false;
  /** The workspace folders of the initialize request, and whether the client can be asked for the current ones. */
  private workspaceFolders: string[] = [];
  private askWorkspaceFolders = false;

  constructor(private readonly connection: Connection) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    let registerConfiguration = false;
    connection.onInitialize((params) => {
      if (this.phase !== 'new') throw new ResponseError(ErrorCodes.InvalidRequest, 'initialize was already received');
      registerConfiguration = !!params.capabilities?.workspace?.didChangeConfiguration?.dynamicRegistration;
      this.askWorkspaceFolders = !!params.capabilities?.workspace?.workspaceFolders;
      const folders = [...(params.workspaceFolders ?? []).map((f) => f?.uri), params.rootUri];
      this.workspaceFolders = folders.flatMap((u) => (typeof u === 'string' && u.startsWith('file:') ? [fileURLToPath(u)] : []));
      let options: P.InitializationOptions;
      try {
        options = initializationOptions(params.initializationOptions);
      } catch (err) {
        throw new ResponseError(ErrorCodes.InvalidParams, (err as Error).message);
      }
      const result = this.initialize(options, !!params.capabilities?.workspace?.configuration);
      this.phase = 'running';
      return result;
    });
    connection.onInitialized(() => {
      if (this.phase !== 'running' || this.started) return;
      this.started = true;
      // As lsp-sample does: ask for configuration-change notifications, then pull the settings when told.
      if (registerConfiguration) {
        // A client may refuse (or not answer) the registration: the settings are then pulled as they are.
        connection.client.register(DidChangeConfigurationNotification.type, { section: 'metabioner' }).catch((err: unknown) => {
          connection.console.warn(`MetaBioNER: the client refused the configuration-change registration (${oneLine(err instanceof Error ? err.message : String(err))})`);
        });
      }
      void this.start();
    });
    connection.onDidChangeConfiguration(() => {
      if (this.phase === 'running' && this.started) void this.configurationChanged();
    });
    connection.onShutdown(async () => {
      this.phase = 'shutdown';
      this.idle.dispose();
      await this.jobs?.dispose();
      await this.tagger.close();
    });
    this.documents.onDidChangeContent((e) => this.schedule(e.document.uri));
    this.documents.onDidClose((e) => this.close(e.document.uri));
    this.documents.listen(this.checkedDocumentSync());
    this.registerHandlers();
  }

  /**
   * The connection as TextDocuments sees it: open/change/close notifications reach it only while the server
   * runs and only when they match their schema (a version that is not an int32, a change that is not text, a
   * missing URI are dropped with a line in the log), so that every document it holds has a usable version.
   */
  private checkedDocumentSync(): Connection {
    const c = this.connection;
    const checked =
      <M extends Method>(method: M, register: (h: (p: ParamsOf<M>) => void) => unknown) =>
      (handler: (p: ParamsOf<M>) => void) =>
        register((raw: unknown) => {
          if (this.phase !== 'running') return;
          let params: ParamsOf<M>;
          try {
            params = parseParams(method, raw);
          } catch (err) {
            c.console.warn(`MetaBioNER: ignored ${(err as Error).message}`);
            return;
          }
          handler(params);
        });
    const sync = {
      onDidOpenTextDocument: checked('textDocument/didOpen', (h) => c.onDidOpenTextDocument(h as never)),
      onDidChangeTextDocument: checked('textDocument/didChange', (h) => c.onDidChangeTextDocument(h as never)),
      onDidCloseTextDocument: checked('textDocument/didClose', (h) => c.onDidCloseTextDocument(h as never)),
      onWillSaveTextDocument: c.onWillSaveTextDocument.bind(c),
      onWillSaveTextDocumentWaitUntil: c.onWillSaveTextDocumentWaitUntil.bind(c),
      onDidSaveTextDocument: c.onDidSaveTextDocument.bind(c),
    };
    return sync as unknown as Connection;
  }

  private initialize(options: P.InitializationOptions, pull: boolean): InitializeResult {
    if (options.storageDir) this.storageDir = path.resolve(options.storageDir);
    this.settings = new SettingsSource(this.connection, pull, options.settings);
    const warn = (message: string) => {
      this.connection.console.warn(`MetaBioNER: ${message}`);
      this.showMessage(MessageType.Warning, message);
    };
    this.models = new ModelHost(this.storageDir, warn);
    this.rejections = new RejectionStore(path.join(this.storageDir, 'rejections.json'));
    this.jobs = new JobManager(this.storageDir, {
      onState: (job) => {
        this.idle.touch();
        void this.connection.sendNotification(P.JobStateNotification.type, job);
      },
      onMetrics: (id, metrics) => void this.connection.sendNotification(P.JobMetricsNotification.type, { id, metrics }),
      onWarning: warn,
    });
    return {
      capabilities: { textDocumentSync: TextDocumentSyncKind.Incremental, hoverProvider: true },
      serverInfo: { name: 'MetaBioNER' },
    };
  }

  /** A message box in the editor: a notification (window/showMessage), so that a client that cannot show one is no failure. */
  private showMessage(type: MessageType, message: string): void {
    void this.connection.sendNotification(ShowMessageNotification.type, { type, message: `MetaBioNER: ${oneLine(message, 1000)}` });
  }

  private setStatus(status: P.ServerStatus): void {
    this.status = status;
    void this.connection.sendNotification(P.StatusNotification.type, status);
  }

  private currentStatus(): P.ServerStatus {
    const model = this.models.summary();
    return model
      ? { state: 'ready', model, backend: this.backend?.name }
      : { state: 'error', backend: this.backend?.name, message: this.models.loadError ?? 'no model loaded' };
  }

  private async start(): Promise<void> {
    this.setStatus({ state: 'loading', message: 'starting the numeric backend and loading the model' });
    try {
      const settings = await this.settings.get();
      this.backend = await initBackend(settings.backend);
      this.models.start(settings.modelPath, settings.convention);
      const problem = this.models.conventionProblem();
      if (problem) this.showMessage(MessageType.Warning, problem);
    } catch (err) {
      this.models.loadError = (err as Error).message;
    }
    this.setStatus(this.currentStatus());
    this.markReady();
    this.refreshAll();
  }

  private async configurationChanged(): Promise<void> {
    const before = await this.settings.get();
    this.settings.invalidate();
    const after = await this.settings.get();
    if (after.modelPath && after.modelPath !== before.modelPath) {
      try {
        this.models.activate(path.resolve(after.modelPath));
      } catch (err) {
        this.showMessage(MessageType.Error, (err as Error).message);
      }
      this.setStatus(this.currentStatus());
    }
    if (after.convention !== before.convention) {
      try {
        const problem = this.models.setConvention(after.convention);
        if (problem) this.showMessage(MessageType.Warning, problem);
      } catch (err) {
        this.showMessage(MessageType.Error, (err as Error).message);
      }
      this.setStatus(this.currentStatus());
    }
    for (const s of this.states.values()) s.analysed = undefined;
    this.refreshAll();
  }

  // -------------------------------------------------------------------------------------------------------
  // Documents and entities

  private state(uri: string): DocState {
    let s = this.states.get(uri);
    if (!s) this.states.set(uri, (s = { visible: [], published: -1 }));
    return s;
  }

  private close(uri: string): void {
    const s = this.states.get(uri);
    if (s?.timer) clearTimeout(s.timer);
    this.states.delete(uri);
    void this.connection.sendDiagnostics({ uri, diagnostics: [] });
  }

  private document(uri: string): TextDocument {
    return this.documents.get(uri) ?? fail(`The document ${uri} is not open in the editor.`);
  }

  private async analysed(doc: TextDocument): Promise<AnalysedDoc> {
    const s = this.state(doc.uri);
    if (s.analysed?.version === doc.version) return s.analysed;
    const settings = await this.settings.get();
    const a = analyse(doc, settings.maxDocumentMiB);
    s.analysed = a;
    s.hiddenLabels = undefined;
    this.sendDiagnostics(doc, a, []);
    return a;
  }

  /** The document's problems (analysis) and the labels of its file that are not shown (a warning each). */
  private sendDiagnostics(doc: TextDocument, a: AnalysedDoc, hidden: HiddenLabel[]): void {
    const diagnostics: Diagnostic[] = a.problems.map((p) => ({
      range: { start: { line: p.line, character: 0 }, end: { line: p.line, character: Number.MAX_SAFE_INTEGER } },
      severity: p.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
      source: 'MetaBioNER',
      message: p.message,
    }));
    for (const h of hidden) {
      diagnostics.push({ range: { start: doc.positionAt(h.start), end: doc.positionAt(h.end) }, severity: DiagnosticSeverity.Warning, source: 'MetaBioNER', message: oneLine(h.message, 1000) });
    }
    void this.connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics });
  }

  private standoff(doc: TextDocument): StandoffFile | undefined {
    if (!doc.uri.startsWith('file:')) return undefined;
    const s = this.state(doc.uri);
    s.standoff ??= StandoffFile.beside(fileURLToPath(doc.uri));
    return s.standoff;
  }

  /** The user's labels: the .ann file's entities, or the CoNLL tag column. */
  private annotations(doc: TextDocument, a: AnalysedDoc): Found[] {
    const hidden: HiddenLabel[] = [];
    let labels: Found[];
    if (a.kind === 'conll') {
      labels = a.sentences.flatMap((s) =>
        spansFromTags(s.tags!).map((sp) => ({ start: s.tokens[sp.start].start, end: s.tokens[sp.end - 1].end, type: sp.type, confidence: 1, source: 'annotation' as const, id: `line:${s.lines![sp.start] + 1}`, sentence: s })),
      );
    } else {
      if (!doc.uri.startsWith('file:')) return [];
      try {
        const file = this.standoff(doc)!;
        file.refresh();
        const { entities, stale } = file.entities(a.text);
        const name = path.basename(file.file);
        for (const l of stale) {
          hidden.push({ start: l.start, end: l.end, message: `Label ${l.id} (${short(l.type)} "${short(l.text)}") in ${name} no longer matches the text at its offsets, so it is not shown: fix or remove it there.` });
        }
        labels = entities.map((e) => ({ ...e, confidence: 1, source: 'annotation' as const }));
      } catch (err) {
        // An .ann that cannot be read (too large, a folder, no permission) hides its labels, not the predictions.
        this.state(doc.uri).standoff = undefined;
        hidden.push({ start: 0, end: 0, message: `${err instanceof Error ? err.message : String(err)}: its labels are not shown.` });
        labels = [];
      }
    }
    // A type the client would use as a key of its tables (`constructor`) or that is far too long is not sent.
    const shown = labels.filter((l) => {
      if (!isReservedKey(l.type) && l.type.length <= MAX_LABEL) return true;
      hidden.push({ start: l.start, end: l.end, message: `Label ${l.id} has the type "${short(l.type)}", which MetaBioNER does not show (${isReservedKey(l.type) ? 'a reserved name' : `longer than ${MAX_LABEL} characters`}): rename the type.` });
      return false;
    });
    const s = this.state(doc.uri);
    const key = hidden.map((h) => `${h.start}:${h.end}:${h.message}`).join('\n');
    if (s.analysed === a && key !== (s.hiddenLabels ?? '')) {
      s.hiddenLabels = key;
      this.sendDiagnostics(doc, a, hidden);
    }
    return shown;
  }

  /**
   * Entities of the sentences touching `range` (all when absent): the user's labels, and the model's
   * predictions that overlap no label and were not rejected. Undefined when `isStale` turned true.
   */
  private async find(doc: TextDocument, range: Range | undefined, isStale: () => boolean = () => false): Promise<{ found: Found[]; a: AnalysedDoc } | undefined> {
    await this.ready;
    const a = await this.analysed(doc);
    if (a.refused) fail(a.refused);
    const settings = await this.settings.get();
    const start = range ? doc.offsetAt(range.start) : 0;
    const end = range ? doc.offsetAt(range.end) : a.text.length;
    const sentences = range ? sentencesIn(a.sentences, start, end) : a.sentences;
    let predicted;
    do {
      predicted = await this.tagger.tag(this.models.require(), this.models.generation, sentences, isStale);
      if (isStale()) return undefined;
    } while (!predicted);
    this.idle.touch();
    const lo = sentences.length ? sentences[0].start : start;
    const hi = sentences.length ? sentences[sentences.length - 1].end : end;
    const labels = this.annotations(doc, a).filter((e) => e.end > lo && e.start <= hi);
    const overlapsLabel = (p: { start: number; end: number }) => labels.some((l) => p.start < l.end && l.start < p.end);
    const predictions: Found[] = predicted
      .filter((p) => p.confidence >= settings.minConfidence && !overlapsLabel(p))
      .filter((p) => !this.rejections.has(doc.uri, { type: p.type, text: a.text.slice(p.start, p.end), sentence: a.text.slice(p.sentence.start, p.sentence.end) }))
      .map((p) => ({ ...p, source: 'prediction' as const }));
    const found = [...labels, ...predictions].sort((x, y) => x.start - y.start || x.end - y.end);
    return { found, a };
  }

  private toEntity(doc: TextDocument, f: Found): P.Entity {
    const e: P.Entity = { range: { start: doc.positionAt(f.start), end: doc.positionAt(f.end) }, type: f.type, confidence: f.confidence, source: f.source };
    if (f.id) e.id = f.id;
    return e;
  }

  private async entities(doc: TextDocument, range?: Range, isStale?: () => boolean): Promise<P.EntitiesResult | undefined> {
    const version = doc.version;
    const r = await this.find(doc, range, isStale);
    if (!r) return undefined;
    return { uri: doc.uri, version, model: this.models.summary()?.name ?? '', entities: r.found.map((f) => this.toEntity(doc, f)) };
  }

  private schedule(uri: string, delay?: number): void {
    const s = this.state(uri);
    // A client that numbered a change lower than one published (it may restart its count) is published again.
    if ((this.documents.get(uri)?.version ?? Infinity) < s.published) s.published = -1;
    if (s.timer) clearTimeout(s.timer);
    void this.settings.get().then((settings) => {
      if (s.timer) clearTimeout(s.timer);
      s.timer = setTimeout(() => {
        s.timer = undefined;
        void this.publish(uri);
      }, delay ?? settings.debounceMs);
    });
  }

  private refreshAll(): void {
    for (const doc of this.documents.all()) this.schedule(doc.uri, 0);
  }

  /** Tags a document and pushes its entities: the visible sentences first when the document is large. */
  private async publish(uri: string): Promise<void> {
    const doc = this.documents.get(uri);
    if (!doc) return;
    const version = doc.version;
    const isStale = () => this.documents.get(uri)?.version !== version;
    const send = (result: P.EntitiesResult | undefined, complete: boolean) => {
      const s = this.states.get(uri);
      if (!result || isStale() || !s || s.published > version || (s.published === version && !complete)) return;
      s.published = version;
      void this.connection.sendNotification(P.PublishEntitiesNotification.type, { ...result, complete });
    };
    try {
      await this.ready;
      const a = await this.analysed(doc);
      if (a.refused) {
        send({ uri, version, model: this.models.summary()?.name ?? '', entities: [] }, true);
        return;
      }
      if (!this.models.model) return;
      if (a.sentences.length > VISIBLE_FIRST_SENTENCES) {
        const s = this.state(uri);
        const visible = (s.visible.length ? s.visible : [DEFAULT_VISIBLE]).map((r) => {
          const start = doc.offsetAt(r.start);
          return { start: r.start, end: doc.positionAt(Math.min(doc.offsetAt(r.end), start + VISIBLE_MAX_CHARS)) };
        });
        const parts = await Promise.all(visible.map((r) => this.entities(doc, r, isStale)));
        if (parts.every((p) => p)) send({ ...parts[0]!, entities: parts.flatMap((p) => p!.entities) }, false);
      }
      send(await this.entities(doc, undefined, isStale), true);
    } catch (err) {
      this.connection.console.error(`MetaBioNER: tagging ${uri} failed: ${(err as Error).message}`);
    }
  }

  private async hover(uri: string, position: P.Entity['range']['start']): Promise<Hover | null> {
    const doc = this.document(uri);
    const offset = doc.offsetAt(position);
    const r = await this.find(doc, { start: position, end: position });
    const hit = r?.found.find((f) => f.start <= offset && offset < f.end);
    if (!hit) return null;
    const model = this.models.summary()?.name ?? '';
    const value =
      hit.source === 'prediction'
        ? `**${hit.type}** · predicted, confidence ${hit.confidence.toFixed(2)} · model ${model}`
        : `**${hit.type}** · your label${hit.id ? ` ${hit.id}` : ''}${r!.a.kind === 'text' ? ` in ${path.basename(this.standoff(doc)!.file)}` : ''}`;
    return { contents: { kind: MarkupKind.Markdown, value }, range: { start: doc.positionAt(hit.start), end: doc.positionAt(hit.end) } };
  }

  // -------------------------------------------------------------------------------------------------------
  // Labels

  private async labelResult(doc: TextDocument): Promise<P.AnnotationResult> {
    const a = await this.analysed(doc);
    const file = a.kind === 'text' ? (this.standoff(doc)?.file ?? '') : doc.uri.startsWith('file:') ? fileURLToPath(doc.uri) : doc.uri;
    return { uri: doc.uri, file, annotations: this.annotations(doc, a).map((f) => this.toEntity(doc, f)) };
  }

  /** The document, if its labels can be written: a file on disk, valid UTF-8, tagged. */
  private async writable(uri: string): Promise<{ doc: TextDocument; a: AnalysedDoc }> {
    const doc = this.document(uri);
    if (!doc.uri.startsWith('file:')) fail('Labels are saved beside the document: save it as a file first.');
    const a = await this.analysed(doc);
    if (a.refused) fail(a.refused);
    if (a.invalidUtf8) fail(`Labels are not saved for this document: it is not valid UTF-8 (first undecodable bytes on line ${a.invalidUtf8.line + 1}). Re-encode it as UTF-8 first.`);
    return { doc, a };
  }

  /** CoNLL labels are the document's tag column: edited through the editor (workspace/applyEdit), saved by the user. */
  private async editTags(doc: TextDocument, a: AnalysedDoc, tagsOf: (s: DocSentence) => string[] | undefined): Promise<P.AnnotationResult> {
    const edits: TextEdit[] = [];
    for (const s of a.sentences) {
      const tags = tagsOf(s);
      if (!tags) continue;
      tags.forEach((tag, i) => {
        if (tag === s.tags![i]) return;
        const at = s.tokens[i].end + 1;
        edits.push({ range: { start: doc.positionAt(at), end: doc.positionAt(at + s.tags![i].length) }, newText: tag });
      });
    }
    if (edits.length === 0) return this.labelResult(doc);
    const applied = await this.connection.workspace.applyEdit({ label: 'MetaBioNER label', edit: { changes: { [doc.uri]: edits } } });
    if (!applied.applied) fail(`The editor did not apply the label change${applied.failureReason ? `: ${applied.failureReason}` : ''}.`);
    const after = TextDocument.create(doc.uri, 'conll', doc.version + 1, TextDocument.applyEdits(doc, edits));
    const settings = await this.settings.get();
    return { uri: doc.uri, file: fileURLToPath(doc.uri), annotations: this.annotations(after, analyse(after, settings.maxDocumentMiB)).map((f) => this.toEntity(after, f)) };
  }

  private async addLabel(uri: string, range: Range, typeName: string): Promise<P.AnnotationResult> {
    const type = checkLabel(typeName);
    const { doc, a } = await this.writable(uri);
    let start = doc.offsetAt(range.start);
    let end = doc.offsetAt(range.end);
    while (start < end && /\s/.test(a.text[start])) start++;
    while (end > start && /\s/.test(a.text[end - 1])) end--;
    if (start >= end) fail('Select the words to label first (the selection is empty).');
    if (a.kind === 'conll') {
      let touched = false;
      const result = await this.editTags(doc, a, (s) => {
        const inside = s.tokens.map((t) => t.start < end && start < t.end);
        if (!inside.some(Boolean)) return undefined;
        touched = true;
        const tags = s.tags!.map((t, i) => (inside[i] ? (i > 0 && inside[i - 1] ? `I-${type}` : `B-${type}`) : t));
        // An entity cut by the new label continues as a new entity after it.
        for (let i = 1; i < tags.length; i++) if (tags[i].startsWith('I-') && inside[i - 1] && !inside[i]) tags[i] = `B-${tags[i].slice(2)}`;
        return tags;
      });
      if (!touched) fail('The selection covers no token row of this CoNLL file.');
      return result;
    }
    this.standoff(doc)!.add(a.text, type, start, end);
    await this.publish(uri);
    return this.labelResult(doc);
  }

  private async removeLabel(uri: string, id: string): Promise<P.AnnotationResult> {
    const { doc, a } = await this.writable(uri);
    if (a.kind === 'conll') {
      const line = /^line:(\d+)$/.exec(id) ? Number(id.slice(5)) - 1 : -1;
      let found = false;
      const result = await this.editTags(doc, a, (s) => {
        const i = s.lines!.indexOf(line);
        if (i < 0 || s.tags![i] === 'O') return undefined;
        const span = spansFromTags(s.tags!).find((sp) => sp.start === i);
        if (!span) return undefined;
        found = true;
        return s.tags!.map((t, k) => (k >= span.start && k < span.end ? 'O' : t));
      });
      if (!found) fail(`There is no label ${id} (an entity starting on that line) in this file.`);
      return result;
    }
    this.standoff(doc)!.remove(id);
    await this.publish(uri);
    return this.labelResult(doc);
  }

  /** The prediction published at exactly `range`. */
  private async prediction(doc: TextDocument, range: Range): Promise<Found & { a: AnalysedDoc }> {
    const r = await this.find(doc, range);
    const start = doc.offsetAt(range.start);
    const end = doc.offsetAt(range.end);
    const hit = r?.found.find((f) => f.start === start && f.end === end);
    if (!r || !hit) fail(`There is no prediction at line ${range.start.line + 1}, characters ${range.start.character}–${range.end.character}.`);
    if (hit.source !== 'prediction') fail(`That is already your label ${hit.id ?? ''}; remove it to change it.`);
    return { ...hit, a: r.a };
  }

  private async accept(uri: string, range: Range): Promise<P.AnnotationResult> {
    const { doc } = await this.writable(uri);
    const p = await this.prediction(doc, range);
    return this.addLabel(uri, range, p.type);
  }

  private async reject(uri: string, range: Range): Promise<P.AnnotationResult> {
    const doc = this.document(uri);
    const p = await this.prediction(doc, range);
    this.rejections.add(uri, { type: p.type, text: p.a.text.slice(p.start, p.end), sentence: p.a.text.slice(p.sentence!.start, p.sentence!.end) });
    await this.publish(uri);
    return this.labelResult(doc);
  }

  // -------------------------------------------------------------------------------------------------------
  // Models

  /** The labelled sentences of a selection, as token/tag sequences. */
  private async support(uri: string, range: Range): Promise<SupportSentence[]> {
    const doc = this.document(uri);
    const a = await this.analysed(doc);
    if (a.refused) fail(a.refused);
    const sentences = sentencesIn(a.sentences, doc.offsetAt(range.start), doc.offsetAt(range.end));
    if (sentences.length === 0) fail('The selection covers no sentence.');
    let support: SupportSentence[];
    if (a.kind === 'conll') {
      support = sentences.map((s) => ({ tokens: s.tokens.map((t) => t.text), tags: s.tags! }));
    } else {
      const labels = this.annotations(doc, a);
      support = [];
      for (const s of sentences) {
        const mine = labels.filter((l) => l.start < s.end && s.start < l.end);
        if (mine.length === 0) continue;
        const tags = s.tokens.map(() => 'O');
        for (const l of mine) {
          const idx = s.tokens.flatMap((t, i) => (t.start < l.end && l.start < t.end ? [i] : []));
          idx.forEach((i, k) => (tags[i] = `${k === 0 ? 'B' : 'I'}-${l.type}`));
        }
        support.push({ tokens: s.tokens.map((t) => t.text), tags });
      }
      if (support.length === 0) {
        fail(`None of the ${sentences.length} sentences in the selection has a label: label a few entities (or accept predictions) first, then adapt.`);
      }
    }
    if (!support.some((s) => s.tags.some((t) => t !== 'O'))) fail(`The ${support.length} annotated sentences in the selection hold no entity: there is nothing to adapt to.`);
    if (support.length > MAX_SUPPORT_SENTENCES) {
      fail(`The selection holds ${support.length} annotated sentences; few-shot adaptation takes at most ${MAX_SUPPORT_SENTENCES} (select fewer, or train on a corpus with a training job).`);
    }
    return support;
  }

  private async adapt(params: P.AdaptParams, token: CancellationToken, progress: WorkDoneProgressReporter): Promise<P.AdaptResult> {
    const started = Date.now();
    await this.ready;
    const support = await this.support(params.textDocument.uri, params.range);
    const settings = await this.settings.get();
    const from = this.models.activeDir;
    progress.begin('MetaBioNER: adapting', 0, `${support.length} sentences`, true);
    const run = new WorkerRun<AdaptOutput>(
      'adaptation',
      { kind: 'adapt', modelDir: from, convention: this.models.activeConvention, support, epochs: settings.adaptEpochs, lr: settings.adaptLearningRate, outDir: this.models.nextDir(), backend: settings.backend },
      { onProgress: (message, percentage) => progress.report(percentage ?? 0, message) },
    );
    const cancel = token.onCancellationRequested(() => run.cancel());
    try {
      const out = await run.result;
      const model = this.models.activate(out.dir);
      this.modelChanged();
      return { model, sentences: support.length, seconds: (Date.now() - started) / 1000 };
    } finally {
      cancel.dispose();
      progress.done();
      this.idle.touch();
    }
  }

  private modelChanged(): void {
    this.idle.touch();
    this.setStatus(this.currentStatus());
    this.refreshAll();
  }

  private async hardness(params: P.HardnessParams, token: CancellationToken, progress: WorkDoneProgressReporter): Promise<P.HardnessResult> {
    await this.ready;
    const settings = await this.settings.get();
    const root = params.corporaRoot ? await this.confined(params.corporaRoot, 'The corpora folder') : settings.corporaRoot || defaultCorporaRoot();
    progress.begin('MetaBioNER: task hardness', 0, undefined, true);
    const run = new WorkerRun<P.HardnessResult>('hardness', { kind: 'hardness', modelDir: this.models.activeDir, convention: this.models.activeConvention, corporaRoot: root, params, backend: settings.backend }, {
      onProgress: (message, percentage) => progress.report(percentage ?? 0, message),
    });
    const cancel = token.onCancellationRequested(() => run.cancel());
    try {
      return { ...(await run.result), corporaRoot: path.resolve(root) };
    } finally {
      cancel.dispose();
      progress.done();
      this.idle.touch();
    }
  }

  private memory(): P.MemoryReport {
    const model = this.models?.model;
    return {
      ...processMemory(),
      wordVectors: model?.words instanceof EmbeddingTable ? model.words.byteLength : 0,
      featurizerCachedWords: model?.featurizer.cachedWords ?? 0,
      sentenceCacheEntries: this.tagger.size,
      workers: WorkerRun.running,
      idleCollections: this.idle.collections,
    };
  }

  // -------------------------------------------------------------------------------------------------------

  /**
   * Registers a request handler behind the boundary: answered only while the server runs (before initialize:
   * ServerNotInitialized; after shutdown: InvalidRequest), its parameters checked against the message's schema
   * (InvalidParams, one line), and any failure answered as one line (asResponseError), never a crash.
   */
  private request<R>(method: string, handler: (params: never, token: CancellationToken) => Promise<R> | R): void {
    this.connection.onRequest(method, async (raw: unknown, token: CancellationToken) => {
      if (this.phase === 'new') throw new ResponseError(ErrorCodes.ServerNotInitialized, `${method}: the server is not initialized yet (send initialize first)`);
      if (this.phase === 'shutdown') throw new ResponseError(ErrorCodes.InvalidRequest, `${method}: the server is shutting down and answers no more requests`);
      try {
        const params = method in SCHEMAS ? parseParams(method as Method, raw) : undefined;
        return await handler(params as never, token);
      } catch (err) {
        throw asResponseError(method, err, (m) => this.connection.console.error(m));
      }
    });
  }

  /** A notification handler behind the boundary: dropped unless the server runs, dropped with a log line when invalid. */
  private notification<M extends Method>(method: M, handler: (params: ParamsOf<M>) => void): void {
    this.connection.onNotification(method, (raw: unknown) => {
      if (this.phase !== 'running') return;
      try {
        handler(parseParams(method, raw));
      } catch (err) {
        this.connection.console.warn(`MetaBioNER: ignored ${method}: ${oneLine(err instanceof Error ? err.message : String(err))}`);
      }
    });
  }

  /**
   * A folder a request names to read corpora from, resolved and confined to where the user keeps them: the
   * workspace folders, the server's storage folder, the `corporaRoot` setting and the default corpora folder.
   */
  private async confined(dir: string, what: string): Promise<string> {
    const settings = await this.settings.get();
    let folders = this.workspaceFolders;
    if (this.askWorkspaceFolders) {
      // The current folders (they change while the server runs); a client that does not answer within 2 s gets the initial ones.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), 2000)));
      const current = await Promise.race([this.connection.workspace.getWorkspaceFolders().catch(() => null), late]);
      clearTimeout(timer);
      if (current) folders = current.flatMap((f) => (typeof f?.uri === 'string' && f.uri.startsWith('file:') ? [fileURLToPath(f.uri)] : []));
    }
    const real = (p: string) => {
      try {
        return fs.realpathSync.native(path.resolve(p));
      } catch {
        return path.resolve(p);
      }
    };
    const roots = [...folders, this.storageDir, settings.corporaRoot, defaultCorporaRoot()].filter((r) => r).map(real);
    const target = real(dir);
    const inside = (root: string) => target === root || target.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
    if (!roots.some(inside)) {
      fail(`${what} ${dir.length > 120 ? `${dir.slice(0, 120)}…` : dir} is outside the workspace folders, the corpora folder of the settings and MetaBioNER's storage: it is not read.`);
    }
    return target;
  }

  private registerHandlers(): void {
    const c = this.connection;
    this.request(P.StatusRequest.method, () => (this.status.state === 'loading' ? this.status : this.currentStatus()));
    this.request(P.MemoryRequest.method, () => this.memory());
    this.request(P.EntitiesRequest.method, async (p: P.EntitiesParams) => (await this.entities(this.document(p.textDocument.uri), p.range))!);
    this.notification(P.VisibleRangesNotification.method, (p) => {
      // Kept for a document about to open too (a client may send its visible ranges first), within a bound.
      if (this.documents.get(p.textDocument.uri) || this.states.has(p.textDocument.uri) || this.states.size < MAX_UNOPENED_STATES) {
        this.state(p.textDocument.uri).visible = p.ranges;
      }
    });
    this.request('textDocument/hover', (p: ParamsOf<'textDocument/hover'>) => this.hover(p.textDocument.uri, p.position));
    this.request(P.AddAnnotationRequest.method, (p: P.AddAnnotationParams) => this.addLabel(p.textDocument.uri, p.range, p.type));
    this.request(P.RemoveAnnotationRequest.method, (p: P.RemoveAnnotationParams) => this.removeLabel(p.textDocument.uri, p.id));
    this.request(P.AcceptPredictionRequest.method, (p: P.PredictionParams) => this.accept(p.textDocument.uri, p.range));
    this.request(P.RejectPredictionRequest.method, (p: P.PredictionParams) => this.reject(p.textDocument.uri, p.range));
    this.request(P.AdaptRequest.method, (p: P.AdaptParams, token: CancellationToken) => this.adapt(p, token, c.window.attachWorkDoneProgress(p.workDoneToken)));
    this.request(P.HardnessRequest.method, (p: P.HardnessParams, token: CancellationToken) => this.hardness(p, token, c.window.attachWorkDoneProgress(p.workDoneToken)));
    this.request(P.CorporaRequest.method, async (p: P.CorporaParams) => {
      const settings = await this.settings.get();
      const root = p.corporaRoot ? await this.confined(p.corporaRoot, 'The corpora folder') : path.resolve(settings.corporaRoot || defaultCorporaRoot());
      return { root, corpora: listCorpora(root) };
    });
    this.request(P.ModelsRequest.method, async () => {
      await this.ready;
      return { active: this.models.summary() ?? fail(this.models.loadError ?? 'no model loaded'), history: this.models.list() };
    });
    this.request(P.UndoModelRequest.method, async () => {
      await this.ready;
      const model = this.models.undo();
      this.modelChanged();
      return model;
    });
    this.request(P.UseModelRequest.method, async (p: P.UseModelParams) => {
      await this.ready;
      const model = this.models.activate(path.resolve(p.path));
      this.modelChanged();
      return model;
    });
    this.request(P.StartJobRequest.method, async (p: P.JobParams) => {
      await this.ready;
      const settings = await this.settings.get();
      const corporaRoot = p.corporaRoot ? await this.confined(p.corporaRoot, 'The corpora folder') : settings.corporaRoot || defaultCorporaRoot();
      return this.jobs.start({ ...p, corporaRoot }, corporaRoot, this.models.activeDir, settings);
    });
    this.request(P.StopJobRequest.method, (p: P.JobIdParams) => this.jobs.stop(p.id));
    this.request(P.ResumeJobRequest.method, async (p: P.JobIdParams) => {
      await this.ready;
      const settings = await this.settings.get();
      return this.jobs.resume(p.id, this.models.activeDir, settings);
    });
    this.request(P.ListJobsRequest.method, () => this.jobs.list());
  }
}
