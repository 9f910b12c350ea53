import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../training/io/atomic';
import { defaultModelDir } from '../training/io/paths';
import { loadModel, readModelInfo } from '../training/model/model-io';
import type { NerModel } from '../training/model/ner-model';
import type { ModelSummary } from './protocol';

/** A model loaded for activation: in the convention asked for if it has it, with the list of those it has. */
interface Loaded {
  model: NerModel;
  convention: string | undefined;
  conventions: string[];
}

interface HistoryFile {
  /** Model directories in the order they became active; the last one is active. */
  history: string[];
}

/**
 * The active model and the history of models that were active (adapted, chosen, the shipped one). Adapted
 * models live in `<storage>/models/v<N>`; nothing is written into the user's workspace. Undo goes back one
 * step; the model undone stays on disk.
 */
export class ModelHost {
  private history: string[] = [];
  private current: NerModel | undefined;
  private names = new Map<string, { name: string; types: string[] }>();
  /** Why no model is loaded, when none is. */
  loadError: string | undefined;
  /** Bumped on every change of the active model (for caches). */
  generation = 0;
  /** The `convention` setting ('' = the generic layer). */
  private convention = '';
  /** The convention the active model tags in, if it has the one asked for. */
  activeConvention: string | undefined;
  /** The conventions the active model has. */
  private conventions: string[] = [];

  /** `onWarning`: something the user should know that did not stop the change (the history could not be saved). */
  constructor(
    private readonly storageDir: string,
    private readonly onWarning: (message: string) => void = () => undefined,
  ) {
    try {
      const saved = JSON.parse(fs.readFileSync(this.indexFile, 'utf8')) as HistoryFile;
      if (Array.isArray(saved.history)) this.history = saved.history.filter((d) => typeof d === 'string');
    } catch {
      // first start, or an unreadable index: start a new history
    }
  }

  private get indexFile(): string {
    return path.join(this.storageDir, 'models', 'index.json');
  }

  /** Loads the model `preferred` names, else the last active one, else the shipped one, in `convention` if it has it. */
  start(preferred: string, convention = ''): void {
    this.convention = convention;
    const dir = preferred ? path.resolve(preferred) : (this.history[this.history.length - 1] ?? defaultModelDir());
    try {
      this.activate(dir);
    } catch (err) {
      this.loadError = (err as Error).message;
    }
  }

  get model(): NerModel | undefined {
    return this.current;
  }

  /** The active model, or an error saying why there is none. */
  require(): NerModel {
    if (!this.current) throw new Error(`No model is loaded: ${this.loadError ?? 'the server is still starting'}`);
    return this.current;
  }

  get activeDir(): string {
    const dir = this.history[this.history.length - 1];
    if (!this.current || !dir) throw new Error(`No model is loaded: ${this.loadError ?? 'the server is still starting'}`);
    return dir;
  }

  summary(): ModelSummary | undefined {
    if (!this.current) return undefined;
    return this.summaryOf(this.history.length - 1);
  }

  private summaryOf(version: number): ModelSummary {
    const dir = this.history[version];
    let known = this.names.get(dir);
    if (!known) {
      try {
        const { info, types } = readModelInfo(dir);
        known = { name: info.name, types };
      } catch {
        known = { name: `${path.basename(dir)} (unreadable)`, types: [] };
      }
      this.names.set(dir, known);
    }
    return { name: known.name, types: known.types, path: dir, version };
  }

  list(): ModelSummary[] {
    return this.history.map((_, i) => this.summaryOf(i));
  }

  /** A fresh directory for the next adapted model. */
  nextDir(): string {
    const dir = path.join(this.storageDir, 'models', `v${Date.now().toString(36)}-${this.history.length}`);
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    return dir;
  }

  /** Loads `dir` and makes it the active model (the previous one stays in the history). Throws if unusable. */
  activate(dir: string): ModelSummary {
    const loaded = this.load(dir);
    if (this.history[this.history.length - 1] !== dir) this.history.push(dir);
    this.swap(loaded);
    return this.summary() as ModelSummary;
  }

  /**
   * Tags in another annotation convention from now on: the active model is loaded again in it. Returns why
   * the active model cannot (it has no such convention; it then tags with its generic layer).
   */
  setConvention(convention: string): string | undefined {
    this.convention = convention;
    const dir = this.history[this.history.length - 1];
    if (this.current && dir) this.swap(this.load(dir));
    return this.conventionProblem();
  }

  /** Why the `convention` setting is not in effect, if it is not. */
  conventionProblem(): string | undefined {
    if (!this.convention || !this.current || this.activeConvention === this.convention) return undefined;
    const known = this.conventions;
    return `The active model has no "${this.convention}" annotation convention (${known.length ? `it has ${known.join(', ')}` : 'it has none'}); it tags with its generic layer.`;
  }

  /** Back to the model active before the last change. */
  undo(): ModelSummary {
    if (this.history.length < 2) throw new Error('There is no earlier model to go back to.');
    const previous = this.history[this.history.length - 2];
    const loaded = this.load(previous);
    this.history.pop();
    this.swap(loaded);
    return this.summary() as ModelSummary;
  }

  private load(dir: string): Loaded {
    const conventions = readModelInfo(dir).info.conventions ?? [];
    const convention = this.convention && conventions.includes(this.convention) ? this.convention : undefined;
    const model = loadModel(dir, { convention });
    model.predict([['Warm', 'up', '.']]); // the first call compiles the backend's kernels: not on a user's document
    this.names.set(dir, { name: model.info.name, types: model.types });
    return { model, convention, conventions };
  }

  private swap(loaded: Loaded): void {
    this.current?.dispose();
    this.current = loaded.model;
    this.activeConvention = loaded.convention;
    this.conventions = loaded.conventions;
    this.loadError = undefined;
    this.generation++;
    // The model is active either way: a history that cannot be saved (disk full) only costs the next start its memory.
    try {
      writeFileAtomic(this.indexFile, JSON.stringify({ history: this.history } satisfies HistoryFile, null, 1) + '\n');
    } catch (err) {
      this.onWarning(`The model history could not be saved to ${path.basename(this.indexFile)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): the model is active now, but after a restart the server starts with the one saved before.`);
    }
  }

  dispose(): void {
    this.current?.dispose();
    this.current = undefined;
  }
}
