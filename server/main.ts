/**
 * Entry point of the MetaBioNER language server (bundled as dist/server.js). The transport comes from the
 * command line, as vscode-languageclient passes it: --node-ipc, --stdio or --socket=N.
 */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { MetaBioNerServer } from './server';

const connection = createConnection(ProposedFeatures.all);
new MetaBioNerServer(connection);
connection.listen();
