/**
 * The `convention` setting: the shipped model has an emission layer per training corpus (its annotation
 * convention); the editor tags in the one the setting names. LINNAEUS tags "patients" as a species, S800 never
 * does (their training splits: 246 times vs 0), so the same sentence differs between them.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { DidChangeConfigurationNotification } from 'vscode-languageserver-protocol';
import * as P from '../../server/protocol';
import { TestClient } from './lsp-client';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-conventions-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sentence = 'Thirty patients with cystic fibrosis were treated with tobramycin.\n';
const species = (p: P.PublishEntitiesParams) => p.entities.filter((e) => e.type === 'Species').map((e) => sentence.slice(e.range.start.character, e.range.end.character));

test('the convention setting: tagging in a corpus convention, switching it live, and a convention the model lacks', async () => {
  const settings: Partial<P.Settings> = { convention: 'S800', debounceMs: 0 };
  const client = await TestClient.start({ storageDir: path.join(tmp, 'storage'), settings });
  try {
    const status = await client.ready();
    assert.equal(status.state, 'ready');
    assert.match(status.model!.name, /\(S800 convention\)$/);
    const file = path.join(tmp, 'a.txt');
    fs.writeFileSync(file, sentence);
    const opened = client.open(file);
    const inS800 = await opened.entities;
    assert.deepEqual(species(inS800), [], 'S800 does not annotate "patients"');
    assert.ok(inS800.entities.some((e) => e.type === 'Chemical'), 'the other types are still found');

    const switched = async (convention: string) => {
      settings.convention = convention;
      const published = client.next<P.PublishEntitiesParams>(P.PublishEntitiesNotification.type, (p) => p.uri === opened.uri && p.complete);
      await client.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: { metabioner: settings } });
      return published;
    };
    assert.deepEqual(species(await switched('LINNAEUS')), ['patients'], 'LINNAEUS does');
    assert.match((await client.connection.sendRequest(P.StatusRequest.type)).model!.name, /\(LINNAEUS convention\)$/);

    const warned = client.next<{ type: number; message: string }>({ method: 'window/showMessage' });
    await switched('GENIA');
    assert.match((await warned).message, /The active model has no "GENIA" annotation convention \(it has NCBI-disease, .*S800\); it tags with its generic layer\./);
    assert.doesNotMatch((await client.connection.sendRequest(P.StatusRequest.type)).model!.name, /convention/);
  } finally {
    assert.equal(await client.stop(), 0);
  }
});
