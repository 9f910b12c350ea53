/**
 * Property-based fuzzing of the server's LSP boundary (fast-check): every request of the contract
 * (server/protocol.ts, found by walking its exports, so a new request is fuzzed without editing this file)
 * with random JSON parameters, and with objects of the message's own fields holding random or hostile values.
 * Each must end in a result or a clear error — one line, not an internal error — within a bound, and the
 * server must stay up, keep publishing and keep its label files well formed. The seed is printed; run again
 * with FUZZ_SEED=<seed> to replay a failure.
 * FUZZ_RUNS sets the runs per property; FUZZ_REPORT=FILE appends {fuzz, seed, cases} as a JSON line.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { DidChangeConfigurationNotification, DidChangeTextDocumentNotification, DidOpenTextDocumentNotification, ErrorCodes, HoverRequest, RequestType, RequestType0, ResponseError } from 'vscode-languageserver-protocol';
import { MAX_MESSAGE } from '../../server/contract';
import * as P from '../../server/protocol';
import { sharedServer } from './lsp-client';

const fixtures = path.resolve(__dirname, '..', 'fixtures', 'corpora');
const server = sharedServer('mb-fuzz-', { debounceMs: 0, corporaRoot: fixtures, minConfidence: 0 });
const tmp = server.tmp;
const client = () => server.client;

const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
/** A request that takes longer than this is taken for a hang. */
const ANSWER_MS = 20_000;

/** Every request type the protocol module exports, and hover. */
const REQUESTS: string[] = [
  ...Object.values(P).flatMap((ns) => {
    const type = (ns as { type?: unknown }).type;
    return type instanceof RequestType || type instanceof RequestType0 ? [(type as { method: string }).method] : [];
  }),
  HoverRequest.method,
];

/** Requests that start a worker when their parameters are valid: fuzzed with values that are not. */
const EXPENSIVE = new Set<string>([P.AdaptRequest.method, P.HardnessRequest.method, P.StartJobRequest.method, P.ResumeJobRequest.method]);

const TEXT = 'Cisplatin causes nephrotoxicity in mice. Aspirin was given to rats with colitis.\n';
const CONLL = 'Cisplatin\tB-Chemical\ncauses\tO\nnephrotoxicity\tB-Disease\n.\tO\n';

// Hostile values of any field.
const hostile = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, -1, 1e308, -1e308, 0.5, 2 ** 31, 2 ** 53, '', '__proto__', 'constructor', '../../etc', '/', 'x'.repeat(1 << 16), [], {}, '\u0000'),
);
const int = fc.oneof(fc.integer({ min: 0, max: 60 }), hostile);
const position = fc.oneof(fc.record({ line: int, character: int }), hostile);
const range = fc.oneof(fc.record({ start: position, end: position }), hostile);

/** Random JSON other than a plain object (`{}` is a valid hardness request: every field has a default). */
const notAnObject = fc.jsonValue({ maxDepth: 3 }).filter((v) => v === null || typeof v !== 'object' || Array.isArray(v));

function docs(uris: string[]) {
  return fc.oneof(fc.record({ uri: fc.oneof(fc.constantFrom(...uris), hostile) }), hostile);
}

/** Objects with the fields a message has: each field present or absent, with a usable or hostile value. */
function fieldsOf(method: string, uris: string[]): fc.Arbitrary<unknown> {
  const textDocument = docs(uris);
  const label = fc.oneof(fc.constantFrom('Chemical', 'Disease', 'New_type', 'a'.repeat(64)), hostile);
  const cheap: Record<string, Record<string, fc.Arbitrary<unknown>>> = {
    [P.EntitiesRequest.method]: { textDocument, range },
    [HoverRequest.method]: { textDocument, position },
    [P.AddAnnotationRequest.method]: { textDocument, range, type: label },
    [P.RemoveAnnotationRequest.method]: { textDocument, id: fc.oneof(fc.constantFrom('T1', 'T2', 'R1', '#1', 'line:1', 'line:3'), hostile) },
    [P.AcceptPredictionRequest.method]: { textDocument, range },
    [P.RejectPredictionRequest.method]: { textDocument, range },
    [P.CorporaRequest.method]: { corporaRoot: fc.oneof(fc.constantFrom(fixtures, path.join(fixtures, 'S800'), tmp), hostile) },
    [P.UseModelRequest.method]: { path: fc.oneof(fc.constantFrom(tmp, path.join(tmp, 'storage'), fixtures), hostile) },
    [P.StopJobRequest.method]: { id: hostile },
  };
  // Expensive requests: their own field names, never a usable value for the field that selects the work.
  const expensive: Record<string, Record<string, fc.Arbitrary<unknown>>> = {
    [P.AdaptRequest.method]: { textDocument: hostile, range, workDoneToken: hostile },
    [P.HardnessRequest.method]: { corporaRoot: hostile, corpora: hostile, k: fc.constantFrom(-1, 0, 1e308, 'x', null), tasks: int, innerSteps: int, seed: hostile },
    [P.StartJobRequest.method]: { kind: fc.oneof(fc.constantFrom('supervised', 'meta', 'multitask'), hostile), corpora: fc.constantFrom([], ['../x'], ['__proto__'], 'x', null), epochs: int, lr: hostile, target: hostile, method: hostile },
    [P.ResumeJobRequest.method]: { id: hostile },
  };
  const fields = cheap[method] ?? expensive[method];
  if (!fields) return hostile;
  return fc.record(fields, { requiredKeys: [] });
}

async function answer(method: string, params: unknown): Promise<{ result?: unknown; error?: ResponseError<unknown> }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${method} did not answer within ${ANSWER_MS} ms`)), ANSWER_MS)));
  try {
    return { result: await Promise.race([client().connection.sendRequest(method, params), timeout]) };
  } catch (err) {
    if (!(err instanceof ResponseError)) throw err;
    return { error: err };
  } finally {
    clearTimeout(timer);
  }
}

test(`every request of the contract with random parameters: a result or a clear error, never a crash or a hang (seed ${seed})`, async (t) => {
  t.diagnostic(`fast-check seed ${seed} (FUZZ_SEED=${seed} replays), ${RUNS} runs per request, requests: ${REQUESTS.join(' ')}`);
  assert.ok(REQUESTS.length >= 18, REQUESTS.join(' '));
  const textFile = path.join(tmp, 'fuzz.txt');
  const conllFile = path.join(tmp, 'fuzz.conll');
  fs.writeFileSync(textFile, TEXT);
  fs.writeFileSync(conllFile, CONLL);
  const text = client().open(textFile);
  const conll = client().open(conllFile, undefined, 'conll');
  await Promise.all([text.entities, conll.entities]);
  const uris = [text.uri, conll.uri, 'file:///not/open.txt', 'untitled:Untitled-1'];
  let cases = 0;
  const codes = new Map<number, number>();
  const spent: string[] = [];
  for (const method of REQUESTS) {
    const started = Date.now();
    const params = EXPENSIVE.has(method) ? fc.oneof(notAnObject, fieldsOf(method, uris)) : fc.oneof(fc.jsonValue({ maxDepth: 3 }), fieldsOf(method, uris), fieldsOf(method, uris));
    await fc.assert(
      fc.asyncProperty(params, async (p) => {
        cases++;
        const { error } = await answer(method, p);
        if (error) {
          codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
          assert.notEqual(error.code, ErrorCodes.InternalError, `${method}: ${error.message}`);
          assert.ok(!/[\r\n]/.test(error.message) && error.message.length <= MAX_MESSAGE, `${method}: not one short line: ${error.message.slice(0, 400)}`);
          assert.doesNotMatch(error.message, /Cannot read|is not a function|is not iterable/, method);
        }
        assert.ok(client().alive, client().stderr);
      }),
      { seed, numRuns: RUNS, endOnFailure: true },
    );
    spent.push(`${method} ${Date.now() - started} ms`);
  }
  t.diagnostic(spent.join(', '));
  // Notifications with random parameters: ignored when invalid, never fatal.
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(P.VisibleRangesNotification.method, DidChangeTextDocumentNotification.method, DidOpenTextDocumentNotification.method, DidChangeConfigurationNotification.method),
      fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.record({ textDocument: fc.oneof(fc.record({ uri: fc.constantFrom('file:///fuzz/other.txt', '__proto__'), version: int, languageId: hostile, text: hostile }), hostile), ranges: fc.array(range, { maxLength: 3 }), contentChanges: hostile }, { requiredKeys: [] })),
      async (method, p) => {
        cases++;
        await client().connection.sendNotification(method, p);
      },
    ),
    { seed, numRuns: RUNS * 4 },
  );
  t.diagnostic(`${cases} cases; errors by code: ${JSON.stringify(Object.fromEntries(codes))}`);
  // For a report (docs/results/reliability.json): one JSON line per fuzz test.
  if (process.env.FUZZ_REPORT) fs.appendFileSync(process.env.FUZZ_REPORT, JSON.stringify({ fuzz: 'lsp-requests', seed, cases, errors: Object.fromEntries(codes) }) + '\n');

  // Still serving: a change of the text document is published, and every brat line written is well formed.
  assert.equal((await answer(P.StatusRequest.method, undefined)).result && (await client().ready()).state, 'ready');
  const version = client().change(text.uri, TEXT + 'Mice were treated with cisplatin.\n');
  assert.equal((await client().entitiesOf(text.uri, version)).version, version);
  const ann = path.join(tmp, 'fuzz.ann');
  if (fs.existsSync(ann)) {
    const doc = client().text(text.uri);
    for (const line of fs.readFileSync(ann, 'utf8').split('\n').filter((l) => l)) {
      const m = /^T\d+\t[A-Za-z0-9][\w./+-]{0,63} (\d+) (\d+)\t(.*)$/.exec(line);
      assert.ok(m, `malformed brat line: ${line.slice(0, 200)}`);
      assert.ok(Number(m[1]) < Number(m[2]), line);
      assert.equal(TEXT.slice(Number(m[1]), Number(m[2])), m[3], `${line} does not match the text`);
      assert.ok(doc.startsWith(TEXT));
    }
  }
});
