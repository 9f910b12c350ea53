import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import * as P from '../../server/protocol';
import { TestClient } from './lsp-client';

const root = path.resolve(__dirname, '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-start-'));

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('a corrupt model named in the settings: error status with the reason, requests answered, recovery by choosing a model', async () => {
  const bad = path.join(tmp, 'bad-model');
  fs.cpSync(path.join(root, 'models', 'default'), bad, { recursive: true });
  fs.writeFileSync(path.join(bad, 'manifest.json'), '{"format": "metabioner-model", ');
  const client = await TestClient.start({ storageDir: path.join(tmp, 'storage-bad'), settings: { modelPath: bad } });
  try {
    const status = await client.ready();
    assert.equal(status.state, 'error');
    assert.match(status.message!, /Cannot load model .*bad-model: manifest\.json is not valid JSON/);
    const file = path.join(tmp, 'a.txt');
    fs.writeFileSync(file, 'Cisplatin caused nephrotoxicity.\n');
    const { uri } = client.open(file);
    await assert.rejects(client.connection.sendRequest(P.EntitiesRequest.type, { textDocument: { uri } }), /No model is loaded: Cannot load model .*manifest\.json is not valid JSON/);
    const published = client.entitiesOf(uri, 1);
    await client.connection.sendRequest(P.UseModelRequest.type, { path: path.join(root, 'models', 'default') });
    assert.ok((await published).entities.some((e) => e.type === 'Chemical'));
    assert.equal((await client.connection.sendRequest(P.StatusRequest.type)).state, 'ready');
  } finally {
    assert.equal(await client.stop(), 0);
  }
});

test('the bundled server (dist/server.js, as the extension starts it) tags a document and runs its workers', async () => {
  assert.ok(fs.existsSync(path.join(root, 'dist', 'server.js')), 'npm run build first');
  const client = await TestClient.start({ storageDir: path.join(tmp, 'storage-dist'), bundled: true, settings: { corporaRoot: path.join(root, 'test', 'fixtures', 'corpora') } });
  try {
    assert.equal((await client.ready()).state, 'ready');
    const file = path.join(tmp, 'b.txt');
    fs.writeFileSync(file, 'Doxorubicin induced cardiomyopathy.\n');
    assert.deepEqual((await client.open(file).entities).entities.map((e) => e.type), ['Chemical', 'Disease']);
    const hardness = await client.connection.sendRequest(P.HardnessRequest.type, { corpora: ['BC5CDR-chem'], k: 2, tasks: 2, innerSteps: 1 });
    assert.equal(hardness.tasks.length, 2);
    // Where its memory is: the shipped model's int8 word vectors (~7 MiB), its float32 weights as tensors, the
    // wasm heap (wasm backend), the caches of what was tagged; the hardness worker ends soon after its answer.
    let m = await client.connection.sendRequest(P.MemoryRequest.type);
    for (let i = 0; i < 100 && m.workers > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      m = await client.connection.sendRequest(P.MemoryRequest.type);
    }
    const MiB = 1048576;
    assert.ok(m.rss > 0 && m.peakRss >= m.rss && m.heapUsed > 0 && m.heapTotal >= m.heapUsed, JSON.stringify(m));
    assert.ok(m.wordVectors > 5 * MiB && m.wordVectors < 12 * MiB, `word vectors ${m.wordVectors} B`);
    assert.ok(m.tensors > 0.5 * MiB && m.tensors < 4 * MiB, `tensors ${m.tensors} B`);
    if ((await client.ready()).backend === 'wasm') assert.ok(m.wasmHeap >= m.tensors && m.external >= m.wasmHeap, JSON.stringify(m));
    assert.ok(m.featurizerCachedWords >= 4 && m.sentenceCacheEntries >= 1, JSON.stringify(m));
    assert.equal(m.workers, 0);
  } finally {
    assert.equal(await client.stop(), 0);
  }
});
