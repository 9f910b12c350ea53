import * as tf from '@tensorflow/tfjs';
import type { Params } from '../model/tagger';
import type { TagSet } from '../model/vocab';
import type { Rng } from '../util/random';

/** What a pair of tags is to the CRF: their kinds (O, B, I) and, for two entity tags, whether the type is the same. */
function role(a: string, b: string): string {
  const same = a !== 'O' && b !== 'O' && a.slice(2) === b.slice(2);
  return `${a[0]}${b[0]}${same ? '=' : '≠'}`;
}

function mean(xs: number[], fallback = 0): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : fallback;
}

/**
 * A decoder φ' over `to`'s tags grown from φ over `from`'s (every tag of `from` is in `to`). Known tags keep their
 * emission column, bias, transitions and start/end scores, so that the model still tags what it knew. A new type's
 * tags start with the mean transition of the known pairs in the same role (O→B, B→I of the same type, I→B of
 * another, …): the CRF's IOB2 grammar holds for it from the first step. Their emission columns are small and random
 * and their bias is the lowest known bias of their kind, so that the new type is rarely predicted before training.
 */
export function extendDecoder(params: Params, from: TagSet, to: TagSet, rng: Rng, prefix = 'dec'): Record<string, tf.Tensor> {
  const W = params[`${prefix}.out.W`];
  const [D, n] = W.shape as [number, number];
  if (n !== from.size) throw new Error(`decoder has ${n} tags, the tag set ${from.size}`);
  for (const t of from.tags) to.id(t); // every known tag must stay
  const m = to.size;
  const oldW = W.dataSync() as Float32Array;
  const oldB = params[`${prefix}.out.b`].dataSync() as Float32Array;
  const oldT = params[`${prefix}.crf.trans`].dataSync() as Float32Array;
  const oldS = params[`${prefix}.crf.start`].dataSync() as Float32Array;
  const oldE = params[`${prefix}.crf.end`].dataSync() as Float32Array;
  const known = (tag: string): number | undefined => (from.tags.includes(tag) ? from.id(tag) : undefined);

  const byRole = new Map<string, number[]>();
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const r = role(from.tags[i], from.tags[j]);
    if (!byRole.has(r)) byRole.set(r, []);
    byRole.get(r)!.push(oldT[i * n + j]);
  }
  const ofKind = (values: Float32Array, kind: string): number[] => from.tags.flatMap((t, i) => (t[0] === kind ? [values[i]] : []));
  const limit = Math.sqrt(6 / (D + m)) * 0.1;

  const w = new Float32Array(D * m);
  const b = new Float32Array(m);
  const trans = new Float32Array(m * m);
  const start = new Float32Array(m);
  const end = new Float32Array(m);
  to.tags.forEach((tag, j) => {
    const k = known(tag);
    if (k !== undefined) {
      for (let d = 0; d < D; d++) w[d * m + j] = oldW[d * n + k];
      b[j] = oldB[k];
      start[j] = oldS[k];
      end[j] = oldE[k];
    } else {
      for (let d = 0; d < D; d++) w[d * m + j] = (rng.next() * 2 - 1) * limit;
      const kinds = ofKind(oldB, tag[0]);
      b[j] = kinds.length ? Math.min(...kinds) : 0;
      start[j] = mean(ofKind(oldS, tag[0]));
      end[j] = mean(ofKind(oldE, tag[0]));
    }
  });
  to.tags.forEach((a, i) =>
    to.tags.forEach((c, j) => {
      const ki = known(a);
      const kj = known(c);
      trans[i * m + j] = ki !== undefined && kj !== undefined ? oldT[ki * n + kj] : mean(byRole.get(role(a, c)) ?? []);
    }),
  );
  return {
    [`${prefix}.out.W`]: tf.tensor2d(w, [D, m]),
    [`${prefix}.out.b`]: tf.tensor1d(b),
    [`${prefix}.crf.trans`]: tf.tensor2d(trans, [m, m]),
    [`${prefix}.crf.start`]: tf.tensor1d(start),
    [`${prefix}.crf.end`]: tf.tensor1d(end),
  };
}
