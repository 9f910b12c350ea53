import * as vscode from 'vscode';

/**
 * The client's own settings (`metabioner.decorations.*`, `metabioner.hardness.*`), read into a typed object.
 * The server's settings (`Settings` in server/protocol.ts) are pulled by the server itself through
 * workspace/configuration; the language client answers from the same `metabioner` section.
 */
export interface ClientConfig {
  decorations: { enabled: boolean; colors: Record<string, string> };
  hardness: { k: number; tasks: number; innerSteps: number };
  corporaRoot: string;
}

const HEX = /^#([0-9a-f]{6}|[0-9a-f]{8})$/i;

export function readConfig(): ClientConfig {
  const c = vscode.workspace.getConfiguration('metabioner');
  const colours = c.get<Record<string, unknown>>('decorations.colors') ?? {};
  const int = (key: string, fallback: number, min: number, max: number) => {
    const v = c.get<number>(key);
    return typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : fallback;
  };
  return {
    decorations: {
      enabled: c.get<boolean>('decorations.enabled') ?? true,
      colors: Object.fromEntries(Object.entries(colours).filter((e): e is [string, string] => typeof e[1] === 'string' && HEX.test(e[1]))),
    },
    hardness: { k: int('hardness.k', 5, 1, 100), tasks: int('hardness.tasks', 6, 1, 50), innerSteps: int('hardness.innerSteps', 2, 1, 20) },
    corporaRoot: c.get<string>('corporaRoot') ?? '',
  };
}
