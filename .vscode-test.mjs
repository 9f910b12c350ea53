// @vscode/test-cli configuration (`npm run test:vscode`): the editor scenarios inside a downloaded VS Code,
// for machines that can download it (these cannot: `npm test` drives code-server instead, see test/e2e/).
// Two configurations: the minimum supported VS Code (engines.vscode) and the current stable one.
import { defineConfig } from '@vscode/test-cli';

const common = {
  files: 'out/test/vscode/**/*.test.js',
  workspaceFolder: '.cache/vscode-test/workspace',
  mocha: { ui: 'tdd', timeout: 180_000 },
  launchArgs: ['--disable-extensions', '--disable-workspace-trust'],
};

export default defineConfig([
  { label: 'minimum', version: '1.90.0', ...common },
  { label: 'stable', version: 'stable', ...common },
]);
