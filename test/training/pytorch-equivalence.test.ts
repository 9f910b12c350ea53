import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { initBackend } from '../../training/engine/backend';
import { allowedFromTags } from '../../training/model/crf-math';
import { Featurizer } from '../../training/model/features';
import { decode, DEFAULT_SHAPE, encode, initParams, labelLoss, TaggerShape } from '../../training/model/tagger';
import { CharVocab } from '../../training/model/vocab';
import { disposeGrads, lossAndGrads } from '../../training/train/step';
import { HashedVectors } from '../helpers/hashed-vectors';

const PYTHON = '/usr/bin/python3';
const hasTorch = fs.existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

/** Our parameter names → the exchange layout of bench/pytorch_reference.py. */
const LAYOUT: Record<string, string> = {
  'enc.charEmb': 'charEmb',
  'enc.charConv.W': 'charConvW',
  'enc.charConv.b': 'charConvB',
  'enc.lstm0.fwd.Wx': 'lstmFwdWx',
  'enc.lstm0.fwd.Wh': 'lstmFwdWh',
  'enc.lstm0.fwd.b': 'lstmFwdB',
  'enc.lstm0.bwd.Wx': 'lstmBwdWx',
  'enc.lstm0.bwd.Wh': 'lstmBwdWh',
  'enc.lstm0.bwd.b': 'lstmBwdB',
  'dec.out.W': 'outW',
  'dec.out.b': 'outB',
  'dec.crf.trans': 'trans',
  'dec.crf.start': 'start',
  'dec.crf.end': 'end',
};

test('the TF.js tagger computes the same loss, gradients, Viterbi paths and marginals as the PyTorch reference', { skip: hasTorch ? false : 'Debian python3-torch is not installed' }, async () => {
  await initBackend('wasm');
  const sentences = [
    ['Cisplatin', 'induced', 'acute', 'renal', 'failure', '.'],
    ['BRCA1', 'mutations', 'in', 'breast', 'cancer'],
    ['Mice', '.'],
  ];
  const tags = [
    [1, 0, 2, 2, 2, 0],
    [0, 0, 0, 1, 2],
    [0, 0],
  ];
  const chars = CharVocab.build(sentences.flat());
  const words = new HashedVectors(100);
  const shape: TaggerShape = { ...DEFAULT_SHAPE, wordDim: 100, charVocabSize: chars.size, numTags: 3, numDomains: 0 };
  const vars = initParams(shape, 5);
  const batch = new Featurizer(words, chars, shape.maxWordChars).batch(sentences);
  const flat = new Int32Array(batch.B * batch.T);
  tags.forEach((row, b) => flat.set(row, b * batch.T));
  const allowed = allowedFromTags(flat, batch.B, batch.T, 3, batch.lengths);
  const { loss, grads } = lossAndGrads(() => labelLoss(vars, encode(vars, shape, batch, { training: false, dropout: 0 }), batch, allowed), vars);
  const ours = decode(vars, shape, batch);

  const weights: Record<string, unknown> = {};
  const nested = (data: Float32Array, s: number[]): unknown => (s.length === 1 ? Array.from(data) : Array.from({ length: s[0] }, (_, i) => Array.from(data.subarray(i * s[1], (i + 1) * s[1]))));
  for (const [name, key] of Object.entries(LAYOUT)) weights[key] = nested(vars[name].dataSync() as Float32Array, vars[name].shape);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-torch-'));
  fs.writeFileSync(
    path.join(dir, 'case.json'),
    JSON.stringify({
      weights,
      sentences: sentences.map((s, b) => ({ words: s.map((w) => Array.from(words.vectorOf(w))), chars: s.map((w) => [...w].map((c) => chars.idOf(c))), tags: tags[b] })),
    }),
  );
  const r = spawnSync(PYTHON, [path.join(__dirname, '..', '..', 'bench', 'pytorch_reference.py'), 'check', '--case', path.join(dir, 'case.json'), '--out', path.join(dir, 'out.json')], {
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const ref = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8')) as { loss: number; grads: Record<string, unknown>; viterbi: number[][]; marginals: number[][][] };
  assert.ok(Math.abs(loss - ref.loss) < 1e-4 * Math.max(1, Math.abs(ref.loss)), `loss ${loss} vs ${ref.loss}`);
  for (const [name, key] of Object.entries(LAYOUT)) {
    const a = grads[name].dataSync();
    const b = (ref.grads[key] as unknown[]).flat() as number[];
    assert.equal(a.length, b.length, key);
    const scale = Math.max(1e-3, ...b.map(Math.abs));
    for (let k = 0; k < a.length; k++) assert.ok(Math.abs(a[k] - b[k]) <= 1e-3 * scale, `${key}[${k}]: ${a[k]} vs ${b[k]}`);
  }
  assert.deepEqual(ours.sentences.map((s) => s.path), ref.viterbi);
  ours.sentences.forEach((s, b) => s.tokenConfidence.forEach((p, t) => assert.ok(Math.abs(p - ref.marginals[b][t][s.path[t]]) < 1e-4)));
  disposeGrads(grads);
  Object.values(vars).forEach((v) => v.dispose());
  fs.rmSync(dir, { recursive: true });
});
