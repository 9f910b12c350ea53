import * as tf from '@tensorflow/tfjs';
import { customOp } from '../engine/custom-op';

/**
 * One direction of an LSTM over a time-major sequence, as a single differentiable op with hand-written
 * back-propagation through time.
 *
 * Why not autodiff: taped, every step's `h·Wh` product contributes its own transposes and a small weight
 * gradient product (T of each), and TF.js's wasm kernels repack a fresh weight operand on every call. Here the
 * backward pass transposes Wh once and computes ∂Wh as one [H, T·B]×[T·B, 4H] product.
 *
 * Inputs: `proj` [T, B, 4H] = x·Wx + b for all steps (gate order i, f, g, o), `Wh` [H, 4H], `mask` [T, B, 1]
 * (1 for real tokens). Output: hidden states [T, B, H]. With `reverse`, steps run from T−1 down to 0 and the
 * state is multiplied by the mask, so that it is exactly zero when a sentence's last real token is reached.
 */
export function lstmSequence(proj: tf.Tensor3D, Wh: tf.Tensor2D, mask: tf.Tensor3D, reverse: boolean): tf.Tensor3D {
  const [T, B, H4] = proj.shape;
  const H = H4 / 4;
  const op = customOp(([p, w, m], save) => {
    const { hs, acts, cs } = runSteps(p, w, m, reverse, true);
    const hStack = tf.stack(hs, 0);
    const actStack = tf.stack(acts as tf.Tensor[], 0);
    const cStack = tf.stack(cs as tf.Tensor[], 0);
    save([actStack, cStack, hStack, w, m]);
    return {
      value: hStack,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [actS, cS, hS, wS, mS] = saved;
        // Everything that does not depend on the recursion is computed for all steps at once.
        const [iS, fS, gS, oS] = tf.split(actS, 4, 2);
        const tcS = tanh(cS);
        const oDtcS = tf.mul(oS, tf.sub(1, tf.square(tcS))); // ∂h/∂c = o·(1 − tanh²c)
        // ∂act/∂z: σ' = a(1 − a) for i, f, o and tanh' = 1 − g² for g, i.e. (1 − a)(a + [gate is g]).
        const derivS = tf.mul(tf.sub(1, actS), tf.add(actS, gateMask(H)));
        const [dys, iT, fT, gT, tcT, oDtcT, derivT, cT, hT] = [dy, iS, fS, gS, tcS, oDtcS, derivS, cS, hS].map((x) => tf.unstack(x, 0));
        const mT = reverse ? tf.unstack(mS, 0) : [];
        const WhT = tf.transpose(wS);
        const zero = tf.zeros([B, H]);
        const dz: tf.Tensor[] = new Array(T);
        const hPrev: tf.Tensor[] = new Array(T);
        let dhNext: tf.Tensor = zero;
        let dcNext: tf.Tensor = zero;
        for (let s = T - 1; s >= 0; s--) {
          const t = reverse ? T - 1 - s : s;
          const tPrev = s > 0 ? (reverse ? t + 1 : t - 1) : -1;
          const cPrev = tPrev >= 0 ? cT[tPrev] : zero;
          hPrev[t] = tPrev >= 0 ? hT[tPrev] : zero;
          let dh = tf.add(dys[t], dhNext);
          if (reverse) dh = tf.mul(dh, mT[t]);
          let dc = tf.add(dcNext, tf.mul(dh, oDtcT[t]));
          if (reverse) dc = tf.mul(dc, mT[t]);
          const dAct = tf.concat([tf.mul(dc, gT[t]), tf.mul(dc, cPrev), tf.mul(dc, iT[t]), tf.mul(dh, tcT[t])], 1);
          dz[t] = tf.mul(dAct, derivT[t]);
          dcNext = tf.mul(dc, fT[t]);
          dhNext = tf.matMul(dz[t], WhT);
        }
        const dProj = tf.stack(dz, 0);
        const hPrevAll = tf.stack(hPrev, 0).reshape([T * B, H]);
        const dWh = tf.matMul(tf.transpose(hPrevAll), dProj.reshape([T * B, 4 * H]));
        return [dProj, dWh, tf.zerosLike(mS)];
      },
    };
  });
  return op(proj, Wh, mask) as tf.Tensor3D;
}

/**
 * tanh(x) = 2·σ(2x) − 1. The wasm backend's Tanh is a scalar loop while its Sigmoid is vectorised: from
 * about 4k elements on, the three extra element-wise ops cost less (measured 200 µs vs 50 µs at 64×128).
 */
function tanh(x: tf.Tensor): tf.Tensor {
  if (x.size < 4096) return tf.tanh(x);
  return tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1);
}

/**
 * Inference: the same recursion without keeping what back-propagation needs. Each step's intermediates are
 * freed at once (a step makes ~26·B·H floats of them): held until the caller's tidy ends they made a 48-sentence
 * batch of 80 tokens peak at ~250 MB of wasm heap, which never shrinks again — the language server's resident
 * size. Only the hidden states (the output) outlive their step.
 */
export function lstmSequenceInference(proj: tf.Tensor3D, Wh: tf.Tensor2D, mask: tf.Tensor3D, reverse: boolean): tf.Tensor3D {
  const [T, B, H4] = proj.shape;
  const H = H4 / 4;
  const hs: tf.Tensor[] = new Array(T);
  const [gMask, scale, wScaled] = tf.tidy(() => {
    const g = gateMask(H);
    const sc = tf.add(g, 1);
    return [g, sc, tf.mul(Wh, sc)];
  });
  let h: tf.Tensor = tf.zeros([B, H]);
  let c: tf.Tensor = tf.zeros([B, H]);
  const first = h;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const [hNext, cNext] = tf.tidy(() => {
      const x = tf.mul(tf.squeeze(tf.slice(proj, [t, 0, 0], [1, B, H4]), [0]), scale);
      const act = tf.sub(tf.mul(tf.sigmoid(tf.add(x, tf.matMul(h, wScaled))), scale), gMask);
      const [i, f, g, o] = tf.split(act, 4, 1);
      let cn = tf.add(tf.mul(f, c), tf.mul(i, g));
      const m = reverse ? tf.reshape(tf.slice(mask, [t, 0, 0], [1, B, 1]), [B, 1]) : undefined;
      if (m) cn = tf.mul(cn, m);
      let hn = tf.mul(o, tanh(cn));
      if (m) hn = tf.mul(hn, m);
      return [hn, cn];
    });
    c.dispose();
    h = hs[t] = hNext;
    c = cNext;
  }
  first.dispose();
  c.dispose();
  const out = tf.stack(hs, 0) as tf.Tensor3D;
  for (const x of hs) x.dispose();
  for (const x of [gMask, scale, wScaled]) x.dispose();
  return out;
}

/** [4H] with 1 on the g (cell input) gate and 0 on i, f, o. */
function gateMask(H: number): tf.Tensor1D {
  const m = new Float32Array(4 * H);
  m.fill(1, 2 * H, 3 * H);
  return tf.tensor1d(m);
}

/**
 * The forward recursion; with `keep`, also the gate activations [B, 4H] (i, f, g, o) and cell states of
 * every step. All four gates go through one sigmoid: g = tanh(z) = 2σ(2z) − 1, so the g columns of the
 * pre-activations are doubled once for all steps and the activations are a·scale − [gate is g].
 */
function runSteps(p: tf.Tensor, w: tf.Tensor, m: tf.Tensor, reverse: boolean, keep: boolean): { hs: tf.Tensor[]; acts?: tf.Tensor[]; cs?: tf.Tensor[] } {
  const [T, B, H4] = p.shape as [number, number, number];
  const H = H4 / 4;
  const gMask = gateMask(H);
  const scale = tf.add(gMask, 1);
  const xs = tf.unstack(tf.mul(p, scale), 0);
  const wScaled = tf.mul(w, scale);
  const ms = reverse ? tf.unstack(m, 0) : [];
  const acts: tf.Tensor[] = new Array(keep ? T : 0);
  const cs: tf.Tensor[] = new Array(keep ? T : 0);
  const hs: tf.Tensor[] = new Array(T);
  let h: tf.Tensor = tf.zeros([B, H]);
  let c: tf.Tensor = tf.zeros([B, H]);
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const act = tf.sub(tf.mul(tf.sigmoid(tf.add(xs[t], tf.matMul(h, wScaled))), scale), gMask);
    const [i, f, g, o] = tf.split(act, 4, 1);
    c = tf.add(tf.mul(f, c), tf.mul(i, g));
    if (reverse) c = tf.mul(c, ms[t]);
    h = tf.mul(o, tanh(c));
    if (reverse) h = tf.mul(h, ms[t]);
    if (keep) {
      acts[t] = act;
      cs[t] = c;
    }
    hs[t] = h;
  }
  return keep ? { hs, acts, cs } : { hs };
}
