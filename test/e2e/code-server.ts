/**
 * A real VS Code for the end-to-end tests and `npm run editor`: code-server (VS Code 1.100 from the npm
 * registry, installed by scripts/setup-e2e.sh) on 127.0.0.1, with its own HOME, user-data and extensions
 * folders, and the extension under test loaded from the repository (development path). Facts behind each
 * flag: ../shared/notes/real-vscode-tests.md.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { ROOT } from './workspace';

export interface CodeServer {
  url: string;
  port: number;
  home: string;
  process: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/** Installs (first time) and returns code-server's entry script. */
export function ensureCodeServer(): string {
  const out = execFileSync(path.join(ROOT, 'scripts', 'setup-e2e.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').pop()!;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

export interface StartOptions {
  /** A scratch folder: HOME, user data and extensions live under it. */
  home: string;
  workspace: string;
  /** User settings (settings.json). */
  settings?: Record<string, unknown>;
  port?: number;
  /** Folder of the extension to load in development mode (default: the repository). */
  extensionPath?: string;
}

export async function startCodeServer(o: StartOptions): Promise<CodeServer> {
  const entry = ensureCodeServer();
  const port = o.port ?? (await freePort());
  const userData = path.join(o.home, 'user-data');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(path.join(o.home, 'extensions'), { recursive: true });
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({ 'workbench.startupEditor': 'none', 'workbench.colorTheme': 'Default Dark Modern', 'telemetry.telemetryLevel': 'off', 'workbench.tips.enabled': false, 'extensions.autoCheckUpdates': false, 'extensions.autoUpdate': false, 'chat.disableAIFeatures': true, ...o.settings }, null, 2),
  );
  const args = [entry, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', '--user-data-dir', userData, '--extensions-dir', path.join(o.home, 'extensions'), o.workspace];
  let log = '';
  const child = spawn(process.execPath, args, { env: { ...process.env, HOME: o.home, XDG_CONFIG_HOME: path.join(o.home, '.config'), XDG_DATA_HOME: path.join(o.home, '.local/share') }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // The whole process group: code-server, its extension hosts and the language servers they started.
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 5000);
    await exited;
    clearTimeout(timer);
  };
  // Ready when it says it listens (a signal, not a timer), then /healthz confirms.
  const listening = await new Promise<boolean>((resolve) => {
    const check = () => {
      if (/HTTP server listening on/.test(log)) done(true);
    };
    const done = (ok: boolean) => {
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.off('exit', fail);
      resolve(ok);
    };
    const fail = () => done(false);
    const timer = setTimeout(fail, 60_000);
    child.stdout!.on('data', check);
    child.once('exit', fail);
    check();
  });
  if (!listening || !(await healthy(port))) {
    await stop();
    throw new Error(`code-server did not start:\n${log}`);
  }
  const ext = o.extensionPath ?? ROOT;
  const payload = encodeURIComponent(JSON.stringify([['extensionDevelopmentPath', `vscode-remote://127.0.0.1:${port}${ext}`]]));
  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(o.workspace)}&payload=${payload}`;
  return { url, port, home: o.home, process: child, output: () => log, stop };
}
