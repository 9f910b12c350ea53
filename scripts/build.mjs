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

if (watch) {
  const ctx = await esbuild.context({ ...options, logLevel: 'info' });
  await ctx.watch();
} else {
  await esbuild.build(options);
}
