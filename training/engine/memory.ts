import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';

/** Where a process's memory is, in bytes, as far as the process itself can tell. */
export interface ProcessMemory {
  /** Resident set size (all threads). */
  rss: number;
  /** Highest resident set size so far. */
  peakRss: number;
  /** V8 heap of this thread: in use, and reserved. */
  heapUsed: number;
  heapTotal: number;
  /** Memory of C++ objects bound to JavaScript (includes ArrayBuffers and the wasm heap). */
  external: number;
  arrayBuffers: number;
  /** Heap of the TensorFlow.js wasm backend of this thread (it grows and never shrinks); 0 on other backends. */
  wasmHeap: number;
  /** Bytes held by live tensors (weights and anything not yet disposed). */
  tensors: number;
  /** Anonymous (heap, stacks, wasm) and file-backed (code, mapped files) resident memory; Linux only, else 0. */
  anonymous: number;
  fileBacked: number;
}

/** The wasm backend's heap size in bytes, 0 when another backend (or none) runs. */
export function wasmHeapBytes(): number {
  try {
    if (tf.getBackend() !== 'wasm') return 0;
    const wasm = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
    return wasm?.HEAPU8?.buffer.byteLength ?? 0;
  } catch {
    return 0;
  }
}

/** /proc/self/status fields in bytes (Linux), else 0. */
function procStatus(...keys: string[]): number[] {
  let text = '';
  try {
    text = fs.readFileSync('/proc/self/status', 'utf8');
  } catch {
    return keys.map(() => 0);
  }
  return keys.map((k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024);
}

export function processMemory(): ProcessMemory {
  const m = process.memoryUsage();
  const [anonymous, fileBacked] = procStatus('RssAnon', 'RssFile');
  return {
    rss: m.rss,
    peakRss: process.resourceUsage().maxRSS * 1024,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    wasmHeap: wasmHeapBytes(),
    tensors: tf.memory().numBytes,
    anonymous,
    fileBacked,
  };
}
