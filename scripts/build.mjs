// Bundles each entry point with esbuild. TensorFlow.js stays external: its wasm backend
// locates its .wasm binaries relative to its own package folder at run time.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const options = {
  entryPoints: {
    cli: 'training/cli/main.ts',
    // The language server and the worker threads it starts (found beside it at run time).
    server: 'server/main.ts',
    'training-worker': 'server/worker/worker-main.ts',
    // Data- and task-parallel training: the compute workers of a pool (training/parallel/compute-pool.ts).
    'compute-worker': 'training/parallel/compute-worker.ts',
    'tag-worker': 'training/parallel/tag-worker.ts',
    'fewshot-worker': 'training/parallel/fewshot-worker.ts',
  },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outdir: 'dist',
  sourcemap: true,
  external: ['@tensorflow/*', 'vscode'],
  logLevel: 'warning',
};

// The VS Code extension (the client): node/cjs with `vscode` provided by the editor. It may import only
// server/protocol.ts of the server, never training/: all tensors live in the server process.
const extension = {
  ...options,
  entryPoints: { extension: 'extension/main.ts' },
  external: ['vscode'],
  metafile: true,
  minify: !watch,
};

// The training panel webview: one browser script (uPlot bundled in, no CDN) and its stylesheet.
const webview = {
  entryPoints: { 'media/training': 'media/training.ts' },
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'iife',
  outdir: 'dist',
  sourcemap: true,
  minify: !watch,
  logLevel: 'warning',
};

function checkExtension(result) {
  const inputs = Object.keys(result.metafile.inputs);
  const bad = inputs.filter((f) => f.startsWith('training/') || f.includes('@tensorflow') || (f.startsWith('server/') && f !== 'server/protocol.ts'));
  if (bad.length) throw new Error(`dist/extension.js must not bundle ${bad.join(', ')} (the extension imports only server/protocol.ts)`);
}

if (watch) {
  for (const o of [options, extension, webview]) await (await esbuild.context({ ...o, logLevel: 'info' })).watch();
} else {
  const [, ext] = await Promise.all([esbuild.build(options), esbuild.build(extension), esbuild.build(webview)]);
  checkExtension(ext);
}
