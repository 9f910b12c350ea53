/**
 * The client's own settings (`metabioner.decorations.*`, `metabioner.hardness.*`; `corporaRoot` and `workers` are read too): schema in package.json →
 * this typed object → the features. The server's settings (`Settings` in server/protocol.ts) are pulled by
 * the server itself through workspace/configuration. No `vscode` import: tested in plain Node.
 */
export interface ClientConfig {
  decorations: { enabled: boolean; colors: Record<string, string> };
  hardness: { k: number; tasks: number; innerSteps: number };
  /** The server's corpora folder setting, read here too to list corpora for the panel and the hardness view. */
  corporaRoot: string;
  /** The server's worker-count setting (0 = every core), read here too as the training panel's default. */
  workers: number;
}

/** Defaults, key by key as in package.json (a test checks that they agree). */
export const CLIENT_DEFAULTS = {
  'decorations.enabled': true,
  'decorations.colors': {} as Record<string, string>,
  'hardness.k': 5,
  'hardness.tasks': 6,
  'hardness.innerSteps': 2,
};

const HEX = /^#([0-9a-f]{6}|[0-9a-f]{8})$/i;

export function toClientConfig(get: (key: string) => unknown): ClientConfig {
  const int = (key: 'hardness.k' | 'hardness.tasks' | 'hardness.innerSteps', min: number, max: number) => {
    const v = get(key);
    return typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : CLIENT_DEFAULTS[key];
  };
  const colours = get('decorations.colors');
  const enabled = get('decorations.enabled');
  const root = get('corporaRoot');
  const workers = get('workers');
  return {
    decorations: {
      enabled: typeof enabled === 'boolean' ? enabled : CLIENT_DEFAULTS['decorations.enabled'],
      colors: Object.fromEntries(Object.entries(colours && typeof colours === 'object' ? colours : {}).filter((e): e is [string, string] => typeof e[1] === 'string' && HEX.test(e[1]))),
    },
    hardness: { k: int('hardness.k', 1, 100), tasks: int('hardness.tasks', 1, 50), innerSteps: int('hardness.innerSteps', 1, 20) },
    corporaRoot: typeof root === 'string' ? root : '',
    workers: typeof workers === 'number' && Number.isFinite(workers) ? Math.min(256, Math.max(0, Math.round(workers))) : 0,
  };
}
