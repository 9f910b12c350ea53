import * as vscode from 'vscode';
import { ClientConfig, toClientConfig } from './client-settings';

export type { ClientConfig };

/** The client's settings from the `metabioner` section, checked into a typed object. */
export function readConfig(): ClientConfig {
  const c = vscode.workspace.getConfiguration('metabioner');
  return toClientConfig((key) => c.get(key));
}
