import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CancellationTokenSource } from 'vscode-languageserver-protocol';
import * as P from '../../server/protocol';
import { sharedServer, shipped } from './lsp-client';

const server = sharedServer('mb-labels-', { debounceMs: 0, adaptEpochs: 40, adaptLearningRate: 1e-2 });
const tmp = server.tmp;

const LABELLED = [
  ['Infection of mice with the virus caused severe weight loss.', ['mice']],
  ['The yeast Saccharomyces cerevisiae was grown at 30 degrees.', ['Saccharomyces cerevisiae']],
  ['Escherichia coli strains were transformed with the plasmid.', ['Escherichia coli']],
  ['Expression was higher in rats than in mice.', ['rats', 'mice']],
  ['We studied human fibroblasts in culture.', ['human']],
] as const;
const UNLABELLED = 'Lung tissue from mice and rats was examined.';
const NOTES = [...LABELLED.map(([s]) => s), UNLABELLED].join(' ') + '\n';

const { request } = server;
const client = () => server.client;

test('labels go to a brat .ann file beside the text, written back verbatim, never over changes made on disk', async () => {
  const file = path.join(tmp, 'notes.txt');
  fs.writeFileSync(file, NOTES);
  const { uri, entities } = client().open(file);
  await entities;
  const textDocument = { uri };
  let from = 0;
  for (const [sentence, words] of LABELLED) {
    const at = NOTES.indexOf(sentence, from);
    for (const w of words) await request<P.AddAnnotationParams, P.AnnotationResult>(P.AddAnnotationRequest.type, { textDocument, range: client().rangeOf(uri, w, at), type: 'Species' });
    from = at + sentence.length;
  }
  const ann = path.join(tmp, 'notes.ann');
  const lines = fs.readFileSync(ann, 'utf8').trimEnd().split('\n');
  assert.equal(lines.length, 6);
  const start = NOTES.indexOf('Saccharomyces cerevisiae');
  assert.equal(lines[1], `T2\tSpecies ${start} ${start + 'Saccharomyces cerevisiae'.length}\tSaccharomyces cerevisiae`);

  // Someone edits the .ann file meanwhile: the next change is refused, nothing of theirs is lost, a retry works.
  fs.appendFileSync(ann, '#1\tAnnotatorNotes T1\tchecked by hand\n');
  const range = client().rangeOf(uri, 'virus');
  await assert.rejects(request(P.AddAnnotationRequest.type, { textDocument, range, type: 'Virus' }), /notes\.ann changed on disk since MetaBioNER read it; nothing was written/);
  const r = await request<P.AddAnnotationParams, P.AnnotationResult>(P.AddAnnotationRequest.type, { textDocument, range, type: 'Virus' });
  assert.equal(r.file, ann);
  const content = fs.readFileSync(ann, 'utf8');
  assert.match(content, /#1\tAnnotatorNotes T1\tchecked by hand\n/);
  assert.match(content, /T7\tVirus \d+ \d+\tvirus\n$/);
  const removed = await request<P.RemoveAnnotationParams, P.AnnotationResult>(P.RemoveAnnotationRequest.type, { textDocument, id: 'T7' });
  assert.ok(!removed.annotations.some((a) => a.type === 'Virus'));
  assert.match(fs.readFileSync(ann, 'utf8'), /AnnotatorNotes/);

  // Unknown or unusable labels.
  await assert.rejects(request(P.RemoveAnnotationRequest.type, { textDocument, id: 'T99' }), /There is no label T99 in notes\.ann/);
  await assert.rejects(request(P.AddAnnotationRequest.type, { textDocument, range, type: 'two words' }), /"two words" is not a usable label/);
  await assert.rejects(request(P.AcceptPredictionRequest.type, { textDocument, range }), /There is no prediction at line 1/);

  // The published entities show the labels as annotations.
  const shown = await request<P.EntitiesParams, P.EntitiesResult>(P.EntitiesRequest.type, { textDocument });
  assert.equal(shown.entities.filter((e) => e.source === 'annotation' && e.type === 'Species').length, 6);
});

test('adapt on a selection: refused without labels, then the model corrected on Species tags the unlabelled sentence and keeps its other types; undo', async () => {
  const uri = client().open(path.join(tmp, 'notes.txt')).uri; // already open: same document
  const textDocument = { uri };
  await assert.rejects(
    request(P.AdaptRequest.type, { textDocument, range: client().rangeOf(uri, UNLABELLED) }),
    /None of the 1 sentences in the selection has a label: label a few entities/,
  );
  const whole = { start: { line: 0, character: 0 }, end: { line: 1, character: 0 } };

  // Cancelled once under way (its progress has begun): the worker ends, the active model stays.
  const source = new CancellationTokenSource();
  const begun = client().waitFor<{ token: string; value: { kind: string } }>({ method: '$/progress' }, (p) => p.token === 'adapt-0' && p.value.kind === 'begin');
  const cancelled = client().connection.sendRequest(P.AdaptRequest.type, { textDocument, range: whole, workDoneToken: 'adapt-0' }, source.token);
  await begun;
  source.cancel();
  await assert.rejects(cancelled, /adaptation was cancelled/);
  assert.equal((await request<undefined, P.ModelsResult>(P.ModelsRequest.type, undefined)).history.length, 1);

  const published = client().next<P.PublishEntitiesParams>(P.PublishEntitiesNotification.type, (p) => p.uri === uri && p.entities.some((e) => e.type === 'Species' && e.source === 'prediction'));
  const r = await request<P.AdaptParams, P.AdaptResult>(P.AdaptRequest.type, { textDocument, range: whole, workDoneToken: 'adapt-1' });
  assert.equal(r.sentences, 5);
  // Extend mode: the labels (Species, a type the model knows) correct it; every type it knew stays.
  assert.deepEqual(r.model.types, shipped.types);
  assert.equal(r.model.version, 1);
  assert.ok(r.model.path.startsWith(path.join(tmp, 'storage', 'models')), 'adapted models live in the storage folder');
  const progress = client().received<{ token: string; value: { kind: string } }>({ method: '$/progress' }).filter((p) => p.token === 'adapt-1').map((p) => p.value.kind);
  assert.equal(progress[0], 'begin');
  assert.equal(progress[progress.length - 1], 'end');
  const entities = (await published).entities;
  const last = client().text(uri).indexOf(UNLABELLED);
  const predicted = entities.filter((e) => e.source === 'prediction' && e.range.start.character >= last).map((e) => client().text(uri).slice(e.range.start.character, e.range.end.character));
  assert.ok(predicted.includes('mice') || predicted.includes('rats'), `predicted in the unlabelled sentence: ${predicted.join(', ')}`);
  assert.ok(entities.some((e) => e.source === 'prediction' && (e.type === 'Disease' || e.type === 'Chemical')), 'the other types are still predicted');
  assert.deepEqual((await client().waitFor<P.ServerStatus>(P.StatusNotification.type, (s) => s.model?.version === 1)).model?.types, shipped.types);

  const models = await request<undefined, P.ModelsResult>(P.ModelsRequest.type, undefined);
  assert.equal(models.history.length, 2);
  const back = client().next<P.PublishEntitiesParams>(P.PublishEntitiesNotification.type, (p) => p.uri === uri && p.entities.some((e) => e.type === 'Disease' || e.type === 'Chemical'));
  const undone = await request<undefined, P.ModelSummary>(P.UndoModelRequest.type, undefined);
  assert.deepEqual(undone.types, shipped.types);
  await back;
  assert.ok(fs.existsSync(r.model.path), 'the undone model is kept');
  await assert.rejects(request(P.UndoModelRequest.type, undefined), /no earlier model/);
});

test('accept and reject predictions', async () => {
  const file = path.join(tmp, 'abstract.md');
  fs.writeFileSync(file, '# Case\n\nCisplatin caused nephrotoxicity in a patient with breast cancer.\n');
  const { uri, entities } = client().open(file, undefined, 'markdown');
  const first = await entities;
  const chem = first.entities.find((e) => e.type === 'Chemical');
  const disease = first.entities.find((e) => e.type === 'Disease');
  assert.ok(chem && disease, JSON.stringify(first.entities));
  const accepted = await request<P.PredictionParams, P.AnnotationResult>(P.AcceptPredictionRequest.type, { textDocument: { uri }, range: chem.range });
  assert.deepEqual(accepted.annotations.map((a) => a.type), ['Chemical']);
  assert.match(fs.readFileSync(path.join(tmp, 'abstract.ann'), 'utf8'), /^T1\tChemical 8 17\tCisplatin\n$/);
  await request(P.RejectPredictionRequest.type, { textDocument: { uri }, range: disease.range });
  const now = await request<P.EntitiesParams, P.EntitiesResult>(P.EntitiesRequest.type, { textDocument: { uri } });
  assert.ok(!now.entities.some((e) => e.range.start.character === disease.range.start.character && e.range.start.line === disease.range.start.line), 'the rejected prediction is hidden');
  assert.ok(now.entities.some((e) => e.source === 'annotation' && e.type === 'Chemical'));
  assert.ok(!fs.readFileSync(path.join(tmp, 'abstract.ann'), 'utf8').includes('Disease'), 'a rejection is not written into the user\'s labels');
});

test('CoNLL files: the tag column is the label, a malformed line is a diagnostic, labels change through the editor', async () => {
  const file = path.join(tmp, 'sample.conll');
  const text = 'Cisplatin\tB-Chemical\ncaused\tO\nnephrotoxicity\tO\n.\tO\n\nbroken line without tab\nAspirin\tO\nhelps\tO\n.\tO\n';
  fs.writeFileSync(file, text);
  const { uri, entities } = client().open(file, undefined, 'conll');
  const diagnostics = await client().diagnostics(uri);
  assert.equal(diagnostics.diagnostics[0].range.start.line, 5);
  assert.match(diagnostics.diagnostics[0].message, /expected 2 tab-separated fields \(token, tag\), found 1 \(line skipped\)/);
  const first = await entities;
  assert.deepEqual(first.entities.filter((e) => e.source === 'annotation').map((e) => [e.type, e.id]), [['Chemical', 'line:1']]);
  const r = await request<P.AddAnnotationParams, P.AnnotationResult>(P.AddAnnotationRequest.type, { textDocument: { uri }, range: client().rangeOf(uri, 'nephrotoxicity'), type: 'Disease' });
  assert.deepEqual(r.annotations.map((a) => a.id), ['line:1', 'line:3']);
  assert.match(client().text(uri), /^nephrotoxicity\tB-Disease$/m);
  await request(P.RemoveAnnotationRequest.type, { textDocument: { uri }, id: 'line:1' });
  assert.match(client().text(uri), /^Cisplatin\tO$/m);
  assert.equal(fs.readFileSync(file, 'utf8'), text, 'the file on disk is the user\'s to save');
  await assert.rejects(request(P.RemoveAnnotationRequest.type, { textDocument: { uri }, id: 'line:2' }), /There is no label line:2/);
  // An adaptation over the CoNLL rows with no entity left is refused.
  await request(P.RemoveAnnotationRequest.type, { textDocument: { uri }, id: 'line:3' });
  await assert.rejects(request(P.AdaptRequest.type, { textDocument: { uri }, range: client().rangeOf(uri, 'Cisplatin') }), /The 1 annotated sentences in the selection hold no entity/);
});

test('a corrupt model directory is refused with its reason; the active model stays', async () => {
  const bad = path.join(tmp, 'bad-model');
  fs.cpSync(path.resolve(__dirname, '..', '..', 'models', 'default'), bad, { recursive: true });
  const weights = path.join(bad, 'weights.bin');
  const bytes = fs.readFileSync(weights);
  bytes[100] ^= 0xff;
  fs.writeFileSync(weights, bytes);
  await assert.rejects(request(P.UseModelRequest.type, { path: bad }), /Cannot load model .*bad-model: weights\.bin does not match its checksum/);
  const status = await request<undefined, P.ServerStatus>(P.StatusRequest.type, undefined);
  assert.equal(status.state, 'ready');
  assert.equal(status.model?.name, shipped.info.name);
});

test('a brat label that no longer matches the text is not shown and is reported as a warning at its offsets, until it is fixed', async () => {
  const file = path.join(tmp, 'stale.txt');
  const text = 'Cisplatin causes nephrotoxicity in mice.\n';
  fs.writeFileSync(file, text);
  fs.writeFileSync(path.join(tmp, 'stale.ann'), 'T1\tChemical 0 9\tCisplatin\nT2\tDisease 17 31\tnephrosis\n');
  const warned = client().waitFor<{ uri: string; diagnostics: { message: string; range: P.Entity['range']; severity?: number }[] }>(
    { method: 'textDocument/publishDiagnostics' },
    (p) => p.uri.endsWith('/stale.txt') && p.diagnostics.length > 0,
  );
  const { uri, entities } = client().open(file);
  const shown = (await entities).entities.filter((e) => e.source === 'annotation');
  assert.deepEqual(shown.map((e) => e.id), ['T1']);
  const { diagnostics } = await warned;
  assert.equal(diagnostics.length, 1);
  assert.equal(diagnostics[0].message, 'Label T2 (Disease "nephrosis") in stale.ann no longer matches the text at its offsets, so it is not shown: fix or remove it there.');
  assert.deepEqual(diagnostics[0].range, { start: { line: 0, character: 17 }, end: { line: 0, character: 31 } });
  assert.equal(diagnostics[0].severity, 2);
  // Fixed on disk: the next publication shows it and the warning goes.
  fs.writeFileSync(path.join(tmp, 'stale.ann'), 'T1\tChemical 0 9\tCisplatin\nT2\tDisease 17 31\tnephrotoxicity\n');
  const version = client().change(uri, text + '\n');
  const again = await client().entitiesOf(uri, version);
  assert.deepEqual(again.entities.filter((e) => e.source === 'annotation').map((e) => e.id), ['T1', 'T2']);
  const latest = client().received<{ uri: string; diagnostics: unknown[] }>({ method: 'textDocument/publishDiagnostics' }).filter((p) => p.uri === uri).at(-1);
  assert.deepEqual(latest?.diagnostics, []);
});

test('labels whose type is a reserved name (constructor, toString) or over 64 characters are not sent to the client, and are reported', async () => {
  const file = path.join(tmp, 'hostile.txt');
  const text = 'Cisplatin causes nephrotoxicity in mice.\n';
  fs.writeFileSync(file, text);
  const long = 'T'.repeat(70);
  fs.writeFileSync(path.join(tmp, 'hostile.ann'), `T1\tconstructor 0 9\tCisplatin\nT2\ttoString 17 31\tnephrotoxicity\nT3\t${long} 35 39\tmice\nT4\tSpecies 35 39\tmice\n`);
  const warned = client().waitFor<{ uri: string; diagnostics: { message: string }[] }>({ method: 'textDocument/publishDiagnostics' }, (p) => p.uri.endsWith('/hostile.txt') && p.diagnostics.length > 0);
  const { entities } = client().open(file);
  assert.deepEqual((await entities).entities.filter((e) => e.source === 'annotation').map((e) => [e.id, e.type]), [['T4', 'Species']]);
  assert.deepEqual((await warned).diagnostics.map((d) => d.message), [
    'Label T1 has the type "constructor", which MetaBioNER does not show (a reserved name): rename the type.',
    'Label T2 has the type "toString", which MetaBioNER does not show (a reserved name): rename the type.',
    `Label T3 has the type "${'T'.repeat(60)}…", which MetaBioNER does not show (longer than 64 characters): rename the type.`,
  ]);
  // The same in a CoNLL file's tag column.
  const conll = path.join(tmp, 'hostile.conll');
  fs.writeFileSync(conll, 'Cisplatin\tB-constructor\ncauses\tO\nmice\tB-Species\n');
  const conllWarned = client().waitFor<{ uri: string; diagnostics: { message: string }[] }>({ method: 'textDocument/publishDiagnostics' }, (p) => p.uri.endsWith('/hostile.conll') && p.diagnostics.length > 0);
  const c = client().open(conll, undefined, 'conll');
  assert.deepEqual((await c.entities).entities.filter((e) => e.source === 'annotation').map((e) => e.type), ['Species']);
  assert.deepEqual((await conllWarned).diagnostics.map((d) => d.message), ['Label line:1 has the type "constructor", which MetaBioNER does not show (a reserved name): rename the type.']);
});

test('an .ann that cannot be read (a folder, over 16 MiB) hides only its labels: predictions are still shown, the reason is a diagnostic', async () => {
  const text = 'Cisplatin causes nephrotoxicity in mice.\n';
  for (const [name, make, reason] of [
    ['folder', (ann: string) => fs.mkdirSync(ann), 'folder.ann cannot be read (EISDIR): its labels are not shown.'],
    ['huge', (ann: string) => fs.writeFileSync(ann, `T1\tChemical 0 9\tCisplatin\n${'#'.repeat(17 * 2 ** 20)}\n`), 'huge.ann has 17.0 MiB, more than the 16 MiB of labels MetaBioNER reads: its labels are not shown.'],
  ] as const) {
    const file = path.join(tmp, `${name}.txt`);
    fs.writeFileSync(file, text);
    make(path.join(tmp, `${name}.ann`));
    const warned = client().waitFor<{ uri: string; diagnostics: { message: string }[] }>({ method: 'textDocument/publishDiagnostics' }, (p) => p.uri.endsWith(`/${name}.txt`) && p.diagnostics.length > 0);
    const { uri, entities } = client().open(file);
    const shown = (await entities).entities;
    assert.ok(shown.some((e) => e.source === 'prediction' && e.type === 'Chemical'), 'predictions are shown');
    assert.ok(!shown.some((e) => e.source === 'annotation'));
    assert.deepEqual((await warned).diagnostics.map((d) => d.message), [reason]);
    await assert.rejects(request(P.AddAnnotationRequest.type, { textDocument: { uri }, range: client().rangeOf(uri, 'mice'), type: 'Species' }), new RegExp(reason.split(':')[0].replace(/[.()]/g, '\\$&')));
  }
});

test('adaptation on more than 1000 labelled sentences is refused before a worker starts (a selection of a whole corpus would run for hours)', async () => {
  const file = path.join(tmp, 'many.conll');
  fs.writeFileSync(file, Array.from({ length: 1001 }, () => 'Cisplatin\tB-Chemical\nworks\tO\n').join('\n'));
  const { uri, entities } = client().open(file, undefined, 'conll');
  await entities;
  const whole = { start: { line: 0, character: 0 }, end: { line: 3004, character: 0 } };
  await assert.rejects(
    request(P.AdaptRequest.type, { textDocument: { uri }, range: whole }),
    /The selection holds 1001 annotated sentences; few-shot adaptation takes at most 1000 \(select fewer, or train on a corpus with a training job\)\./,
  );
});
