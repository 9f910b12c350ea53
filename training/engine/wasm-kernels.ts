import * as tf from '@tensorflow/tfjs';

/** The parts of the wasm backend object a JS kernel needs; tfjs does not export its type. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

let registered = false;

/**
 * Copies x[begin : begin+size] into a new output. The stock wasm Slice first copies the WHOLE input out of
 * the heap (readSync), so unstacking a [T, B, 4H] projection into T steps cost T full copies; reading
 * through a heap view makes each slice cost only what it copies.
 */
function sliceInto(wasm: WasmBackendLike, x: tf.TensorInfo, begin: number[], size: number[], outShape: number[] = size): tf.TensorInfo {
  const out = wasm.makeOutput(outShape, x.dtype);
  const outVals = wasm.typedArrayFromHeap(out);
  const xVals = wasm.typedArrayFromHeap(x);
  const rank = x.shape.length;
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * x.shape[d + 1];
  // Fold trailing dimensions that are taken whole into one contiguous run.
  let inner = rank - 1;
  while (inner > 0 && begin[inner] === 0 && size[inner] === x.shape[inner]) inner--;
  const run = size[inner] * strides[inner];
  const outer = size.slice(0, inner);
  const count = outer.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(inner).fill(0);
  let dst = 0;
  for (let k = 0; k < count; k++) {
    let src = begin[inner] * strides[inner];
    for (let d = 0; d < inner; d++) src += (begin[d] + idx[d]) * strides[d];
    outVals.set(xVals.subarray(src, src + run), dst);
    dst += run;
    for (let d = inner - 1; d >= 0; d--) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

function override(config: tf.KernelConfig): void {
  if (tf.getKernel(config.kernelName, 'wasm')) tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel(config);
}

/**
 * Row gather (axis 0, no batch dims) as one contiguous copy per row; the stock kernel copies element by
 * element, which made the char-embedding lookup one of the slowest ops of inference. Other gathers go to
 * the stock kernel.
 */
function registerRowGather(): void {
  const stock = tf.getKernel('GatherV2', 'wasm');
  if (!stock) return;
  override({
    kernelName: 'GatherV2',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, attrs, backend } = args;
      const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
      const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
      if (axis !== 0 || (batchDims ?? 0) !== 0 || indices.shape.length !== 1 || x.dtype !== 'float32') {
        return stock.kernelFunc(args) as tf.TensorInfo;
      }
      const wasm = backend as unknown as WasmBackendLike;
      const width = x.shape.slice(1).reduce((a, b) => a * b, 1);
      const rows = x.shape[0];
      const out = wasm.makeOutput([indices.shape[0], ...x.shape.slice(1)], x.dtype);
      const outVals = wasm.typedArrayFromHeap(out);
      const xVals = wasm.typedArrayFromHeap(x);
      const ids = wasm.typedArrayFromHeap(indices);
      for (let r = 0; r < ids.length; r++) {
        const id = ids[r];
        if (id < 0 || id >= rows) throw new Error(`gather: index ${id} is outside [0, ${rows})`);
        outVals.set(xVals.subarray(id * width, (id + 1) * width), r * width);
      }
      return out;
    },
  });
}

function registerViewSlices(): void {
  override({
    kernelName: 'Slice',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const x = (inputs as { x: tf.TensorInfo }).x;
      const { begin, size } = attrs as unknown as { begin: number | number[]; size: number | number[] };
      const [b, s] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size);
      return sliceInto(backend as unknown as WasmBackendLike, x, b, s);
    },
  });
  override({
    kernelName: 'Unpack',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const value = (inputs as { value: tf.TensorInfo }).value;
      let axis = (attrs as unknown as { axis: number }).axis;
      if (axis < 0) axis += value.shape.length;
      const outShape = value.shape.filter((_, d) => d !== axis);
      const begin = new Array<number>(value.shape.length).fill(0);
      const size = value.shape.slice();
      size[axis] = 1;
      const outs: tf.TensorInfo[] = [];
      for (let i = 0; i < value.shape[axis]; i++) {
        begin[axis] = i;
        outs.push(sliceInto(backend as unknown as WasmBackendLike, value, begin, size, outShape));
      }
      return outs;
    },
  });
  override({
    kernelName: 'SplitV',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const x = (inputs as { x: tf.TensorInfo }).x;
      const { numOrSizeSplits, axis } = attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
      const ax = tf.util.parseAxisParam(axis, x.shape)[0];
      const sizes = tf.backend_util.prepareSplitSize(x as unknown as tf.Tensor, numOrSizeSplits, ax);
      const begin = new Array<number>(x.shape.length).fill(0);
      return sizes.map((s) => {
        const size = x.shape.slice();
        size[ax] = s;
        const out = sliceInto(backend as unknown as WasmBackendLike, x, begin, size);
        begin[ax] += s;
        return out;
      });
    },
  });
}

/**
 * The wasm backend has no UnsortedSegmentSum, which is the gradient of `gather`: without it no embedding
 * table can learn. A scatter-add over the heap views is a single linear pass, so it is written here in JS.
 */
export function registerWasmFixes(): void {
  if (registered) return;
  registered = true;
  registerViewSlices();
  registerRowGather();
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, attrs, backend }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const { numSegments } = attrs as unknown as { numSegments: number };
      const wasm = backend as unknown as WasmBackendLike;
      const rows = segmentIds.shape.reduce((a, b) => a * b, 1);
      const rowShape = x.shape.slice(segmentIds.shape.length);
      const width = rowShape.reduce((a, b) => a * b, 1);
      const out = wasm.makeOutput([numSegments, ...rowShape], x.dtype);
      const outVals = wasm.typedArrayFromHeap(out);
      outVals.fill(0);
      const xVals = wasm.typedArrayFromHeap(x);
      const ids = wasm.typedArrayFromHeap(segmentIds);
      for (let r = 0; r < rows; r++) {
        const seg = ids[r];
        if (seg < 0 || seg >= numSegments) continue; // TensorFlow drops out-of-range ids the same way
        const src = r * width;
        const dst = seg * width;
        for (let j = 0; j < width; j++) outVals[dst + j] += xVals[src + j];
      }
      return out;
    },
  });
}
