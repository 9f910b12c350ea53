import type { Connection } from 'vscode-languageserver/node';
import { DEFAULT_SETTINGS, Settings } from './protocol';

const BACKENDS: readonly Settings['backend'][] = ['auto', 'wasm', 'cpu', 'node', 'node-gpu'];

/** Most worker threads a setting may ask for (as in package.json). */
export const MAX_WORKERS = 256;

/** The worker-count setting: a whole number in 0..MAX_WORKERS (0 = every core); numbers outside are clamped, anything else is the default. */
function workerCount(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return DEFAULT_SETTINGS.workers;
  return Math.min(MAX_WORKERS, Math.max(0, Math.round(v)));
}

/** A typed, checked copy of whatever the client sent: unknown keys dropped, wrong types replaced by defaults. */
export function toSettings(raw: unknown): Settings {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const num = (key: keyof Settings, min: number, max: number): number => {
    const v = r[key];
    return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : (DEFAULT_SETTINGS[key] as number);
  };
  const str = (key: keyof Settings): string => (typeof r[key] === 'string' ? (r[key] as string) : (DEFAULT_SETTINGS[key] as string));
  return {
    modelPath: str('modelPath'),
    backend: BACKENDS.includes(r.backend as Settings['backend']) ? (r.backend as Settings['backend']) : DEFAULT_SETTINGS.backend,
    minConfidence: num('minConfidence', 0, 1),
    debounceMs: num('debounceMs', 0, 10_000),
    maxDocumentMiB: num('maxDocumentMiB', 0.001, 1024),
    corporaRoot: str('corporaRoot'),
    adaptEpochs: Math.round(num('adaptEpochs', 1, 1000)),
    adaptLearningRate: num('adaptLearningRate', 1e-6, 1),
    workers: workerCount(r.workers),
    convention: str('convention'),
  };
}

/**
 * Settings flow (as in lsp-sample and vscode-eslint): the client's `metabioner` section is pulled with
 * workspace/configuration, checked into a typed object, cached, and dropped on didChangeConfiguration. A
 * client that does not answer workspace/configuration passes them in initializationOptions.
 */
export class SettingsSource {
  private cached: Promise<Settings> | undefined;

  constructor(
    private readonly connection: Connection,
    private readonly pull: boolean,
    private readonly fallback: Partial<Settings> = {},
  ) {}

  get(): Promise<Settings> {
    this.cached ??= this.pull
      ? this.connection.workspace.getConfiguration('metabioner').then(
          (raw: unknown) => toSettings({ ...this.fallback, ...((raw as object | null) ?? {}) }),
          () => toSettings(this.fallback),
        )
      : Promise.resolve(toSettings(this.fallback));
    return this.cached;
  }

  invalidate(): void {
    this.cached = undefined;
  }
}
