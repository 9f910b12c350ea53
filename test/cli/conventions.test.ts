import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { cliIn, fixtureCorpora } from '../helpers/run-cli';

const fixtures = fixtureCorpora;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-conventions-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cli = cliIn(tmp);

test('conventions from the command line: a unified model continued with --init-from --conventions, scored and used in a corpus convention', () => {
  const corpora = ['--corpus', 'NCBI-disease,JNLPBA', '--corpora-root', fixtures, '--sharing', 'unified', '--hidden', '8', '--max-train-sentences', '40'];
  const generic = path.join(tmp, 'generic');
  assert.equal(cli('mtl-train', ...corpora, '--epochs', '1', '--no-test', '--out', generic).code, 0);
  const withConventions = path.join(tmp, 'conventions');
  const r = cli('mtl-train', ...corpora, '--epochs', '1', '--init-from', generic, '--conventions', '0.5', '--out', withConventions);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /JNLPBA test: P [\d.]+ R [\d.]+ F1 [\d.]+ \(merged [\d.]+\); in its convention P [\d.]+ R [\d.]+ F1 [\d.]+/);
  const manifest = JSON.parse(fs.readFileSync(path.join(withConventions, 'manifest.json'), 'utf8'));
  assert.deepEqual(manifest.info.conventions, ['NCBI-disease', 'JNLPBA']);
  assert.ok(manifest.weights.some((w: { name: string }) => w.name === 'dec.@JNLPBA.out.W'));

  // eval scores JNLPBA under the unified names (protein → Gene, cell_type → Cell), in either convention.
  const scores = (convention?: string) => {
    const e = cli('eval', '--model', withConventions, '--corpus', 'JNLPBA', '--corpora-root', fixtures, '--split', 'devel', '--json', '--workers', '1', ...(convention ? ['--convention', convention] : []));
    assert.equal(e.code, 0, e.stderr);
    return JSON.parse(e.stdout).JNLPBA as { f1: number; perType: Record<string, unknown> };
  };
  const own = scores('JNLPBA');
  assert.ok(own.f1 >= 0 && own.f1 <= 1);
  assert.ok(typeof scores().f1 === 'number');
  const t = cli('tag', '--model', withConventions, '--convention', 'NCBI-disease', '--format', 'json', 'docs/sample-abstract.txt');
  assert.equal(t.code, 0, t.stderr);
  assert.match(JSON.parse(t.stdout).model, /NCBI-disease convention/);
  const bad = cli('tag', '--model', withConventions, '--convention', 'S800', 'docs/sample-abstract.txt');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /no convention "S800" \(it has NCBI-disease, JNLPBA\)/);
});

test('--init-from a unified checkpoint starts from its best epoch', () => {
  const corpora = ['--corpus', 'NCBI-disease,JNLPBA', '--corpora-root', fixtures, '--sharing', 'unified', '--hidden', '8', '--max-train-sentences', '40', '--no-test'];
  const checkpoint = path.join(tmp, 'ckpt');
  const first = path.join(tmp, 'first');
  assert.equal(cli('mtl-train', ...corpora, '--epochs', '1', '--checkpoint', checkpoint, '--out', first).code, 0);
  // Learning rate 0: nothing moves, so the continued model's shared weights are the checkpoint's best epoch's.
  const continued = path.join(tmp, 'continued');
  const r = cli('mtl-train', ...corpora, '--epochs', '1', '--lr', '0', '--init-from', path.join(checkpoint, 'unified'), '--conventions', '0.5', '--out', continued);
  assert.equal(r.code, 0, r.stderr);
  const weights = (dir: string) => {
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { weights: { name: string; shape: number[]; offset: number }[] };
    const bin = fs.readFileSync(path.join(dir, 'weights.bin'));
    const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length));
    return Object.fromEntries(m.weights.map((w) => [w.name, Array.from(all.subarray(w.offset, w.offset + w.shape.reduce((a, b) => a * b, 1)))]));
  };
  const a = weights(first);
  const b = weights(continued);
  for (const name of Object.keys(a)) assert.deepEqual(b[name], a[name], name);
  assert.deepEqual(b['dec.@JNLPBA.out.W'], a['dec.out.W']);
});
