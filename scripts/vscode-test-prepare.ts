/**
 * Prepares `npm run test:vscode` (@vscode/test-cli, .vscode-test.mjs): bundles test/vscode/*.vscode.ts to
 * out/test/vscode/*.test.js (mocha files run inside VS Code's extension host) and assembles the sample
 * workspace in .cache/vscode-test/workspace, as the browser-driven tests do.
 */
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TEST_SETTINGS } from '../test/e2e/scenarios';
import { makeWorkspace, ROOT } from '../test/e2e/workspace';

const dir = path.join(ROOT, 'test', 'vscode');
const entryPoints = Object.fromEntries(fs.readdirSync(dir).filter((f) => f.endsWith('.vscode.ts')).map((f) => [f.replace(/\.vscode\.ts$/, '.test'), path.join(dir, f)]));
void esbuild.build({ entryPoints, bundle: true, platform: 'node', target: 'node20', format: 'cjs', outdir: path.join(ROOT, 'out', 'test', 'vscode'), external: ['vscode', 'mocha'], sourcemap: true, logLevel: 'warning' });
const ws = makeWorkspace(path.join(ROOT, '.cache', 'vscode-test', 'workspace'));
// The same settings as the browser-driven tests, as workspace settings.
fs.mkdirSync(path.join(ws, '.vscode'), { recursive: true });
fs.writeFileSync(path.join(ws, '.vscode', 'settings.json'), JSON.stringify(TEST_SETTINGS, null, 2));
