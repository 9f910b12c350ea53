/**
 * Entry point of the MetaBioNER language server (bundled as dist/server.js). The transport comes from the
 * command line, as vscode-languageclient passes it: --node-ipc, --stdio or --socket=N. Over --stdio the byte
 * stream is checked frame by frame first (frames.ts), so that one malformed frame cannot end the connection.
 */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { FrameFilter } from './frames';
import { MetaBioNerServer } from './server';

const stdio = process.argv.includes('--stdio');
const connection = stdio
  ? createConnection(ProposedFeatures.all, process.stdin.pipe(new FrameFilter((m) => process.stderr.write(`${m}\n`))), process.stdout)
  : createConnection(ProposedFeatures.all);
if (stdio) {
  // stdout is the LSP channel: console output goes to the client's log (as vscode-languageserver does for --stdio).
  console.log = (...args: unknown[]) => connection.console.log(args.map(String).join(' '));
  console.info = (...args: unknown[]) => connection.console.info(args.map(String).join(' '));
  console.warn = (...args: unknown[]) => connection.console.warn(args.map(String).join(' '));
  console.error = (...args: unknown[]) => connection.console.error(args.map(String).join(' '));
}
new MetaBioNerServer(connection);
// A promise rejected with no handler is a bug of the server: logged with its stack (and so counted by the soak
// test), not the end of the process with the user's open documents and running jobs.
process.on('unhandledRejection', (reason: unknown) => {
  connection.console.error(`MetaBioNER: unhandled rejection (a bug): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`);
});
connection.listen();
