/**
 * `npm run editor`: a real VS Code in the browser (code-server, as in the end-to-end tests) on 127.0.0.1
 * with the freshly built extension and a sample workspace of abstracts and two small CoNLL corpora.
 * Ctrl+C stops it (and every process it started).
 *
 *   PORT=8765            the port (default 8765, or a free one if taken)
 *   --fresh              start from a fresh copy of the sample workspace (default: keep your labels)
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { freePort, startCodeServer } from '../test/e2e/code-server';
import { makeWorkspace, ROOT } from '../test/e2e/workspace';

const cache = path.join(ROOT, '.cache', 'editor');
const workspace = path.join(cache, 'workspace');

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer().once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function main(): Promise<void> {
  if (process.argv.includes('--fresh') || !fs.existsSync(workspace)) makeWorkspace(workspace);
  const wanted = Number(process.env.PORT ?? 8765);
  const port = (await portFree(wanted)) ? wanted : await freePort();
  const server = await startCodeServer({ home: path.join(cache, 'home'), workspace, port, settings: { 'workbench.editor.enablePreview': false } });
  console.log(`\nMetaBioNER in VS Code (code-server): ${server.url}\n\nThe sample workspace is ${workspace}. Ctrl+C to stop.\n`);
  const stop = async () => {
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  server.process.once('exit', (code) => {
    console.error(`code-server exited (${code})`);
    process.exit(1);
  });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
