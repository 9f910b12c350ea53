import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { registerWasmFixes } from './wasm-kernels';

export type BackendChoice = 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'];

export interface BackendInfo {
  /** What was asked for. */
  requested: BackendChoice;
  /** What runs: one of node-gpu, node, wasm, cpu. */
  name: Exclude<BackendChoice, 'auto'>;
  /** Why a faster backend was passed over, for the line printed at start. */
  notes: string[];
}

let active: BackendInfo | undefined;

/** The native bindings are optional dependencies: their install downloads libtensorflow, which fails offline. */
function tryRequire(moduleName: string): boolean {
  try {
    // A require function resolved at run time keeps esbuild from trying to bundle the optional native packages.
    createRequire(__filename)(moduleName);
    return true;
  } catch {
    return false;
  }
}

async function tryWasm(notes: string[]): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) {
      notes.push('wasm backend failed to initialise');
      return false;
    }
    await tf.ready();
    registerWasmFixes();
    return true;
  } catch (err) {
    notes.push(`wasm backend unavailable: ${(err as Error).message}`);
    return false;
  }
}

async function trySet(name: string, notes: string[]): Promise<boolean> {
  try {
    if (await tf.setBackend(name)) {
      await tf.ready();
      return true;
    }
  } catch (err) {
    notes.push(`${name}: ${(err as Error).message}`);
  }
  return false;
}

/**
 * Chooses the numeric backend once per process: node-gpu, then node, then wasm (SIMD), then plain JS,
 * unless `choice` names one. Later calls return the first answer.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  if (active) return active;
  const notes: string[] = [];
  const attempt = async (name: Exclude<BackendChoice, 'auto'>): Promise<boolean> => {
    switch (name) {
      case 'node-gpu':
        if (!tryRequire('@tensorflow/tfjs-node-gpu')) {
          notes.push('@tensorflow/tfjs-node-gpu not installed');
          return false;
        }
        return trySet('tensorflow', notes);
      case 'node':
        if (!tryRequire('@tensorflow/tfjs-node')) {
          notes.push('@tensorflow/tfjs-node not installed');
          return false;
        }
        return trySet('tensorflow', notes);
      case 'wasm':
        return tryWasm(notes);
      case 'cpu':
        return trySet('cpu', notes);
    }
  };
  const order: Exclude<BackendChoice, 'auto'>[] =
    choice === 'auto' ? ['node-gpu', 'node', 'wasm', 'cpu'] : [choice];
  for (const name of order) {
    if (await attempt(name)) {
      registerFastMatMulGradient();
      active = { requested: choice, name, notes };
      return active;
    }
  }
  throw new Error(`No TensorFlow.js backend could be started (${choice}): ${notes.join('; ')}`);
}

export function activeBackend(): BackendInfo | undefined {
  return active;
}

export function describeBackend(info: BackendInfo): string {
  const passed = info.requested === 'auto' && info.notes.length > 0 ? ` (${info.notes.join('; ')})` : '';
  return `backend: ${info.name}${passed}`;
}

let matMulGradientRegistered = false;

/**
 * The built-in BatchMatMul gradient multiplies with transpose flags, which the wasm kernels run 9–25× slower
 * than a plain product; transposing explicitly first is the same maths at a fraction of the cost.
 */
function registerFastMatMulGradient(): void {
  if (matMulGradientRegistered) return;
  matMulGradientRegistered = true;
  const t = (x: tf.Tensor): tf.Tensor => {
    const rank = x.rank;
    const perm = [...Array(rank).keys()];
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
    return tf.transpose(x, perm);
  };
  const mm = (x: tf.Tensor, y: tf.Tensor): tf.Tensor => tf.matMul(x, y);
  const origWarn = console.warn;
  console.warn = () => undefined; // the registry warns that it overrides the default gradient, which is the point
  try {
    tf.registerGradient({
      kernelName: 'BatchMatMul',
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, saved, attrs) => {
        const [a, b] = saved;
        const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
        const d = dy as tf.Tensor;
        if (!transposeA && !transposeB) return { a: () => mm(d, t(b)), b: () => mm(t(a), d) };
        if (!transposeA && transposeB) return { a: () => mm(d, b), b: () => mm(t(d), a) };
        if (transposeA && !transposeB) return { a: () => mm(b, t(d)), b: () => mm(a, d) };
        return { a: () => mm(t(b), t(d)), b: () => mm(t(d), t(a)) };
      },
    });
  } finally {
    console.warn = origWarn;
  }
}
