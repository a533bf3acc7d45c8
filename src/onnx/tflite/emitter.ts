// The state of one TFLite -> ONNX compilation: tensors as ONNX values, their layout, constants and fused activations.
import { GraphBuilder } from '../writer.js';
import type { TfliteModel, TfliteTensor } from './reader.js';

/**
 * Where a value's axes are. TFLite keeps images NHWC; onnxruntime's CPU convolutions, pools and
 * their fusions (Conv+Relu, the NCHWc blocked layout) are written for NCHW. So a 4-D activation is
 * kept as 'nchw' (the TFLite tensor permuted by [0, 3, 1, 2]) from the first convolution on, and
 * turned back to 'plain' (TFLite's own order) only where an operator depends on element order
 * (RESHAPE, FULLY_CONNECTED) or at a graph output.
 */
export type Layout = 'nchw' | 'plain';

export interface Value {
  readonly name: string;
  readonly layout: Layout;
}

/** NHWC axis -> NCHW axis. */
export const NCHW_AXIS = [0, 2, 3, 1] as const;

export interface EmitterOptions {
  /**
   * Make dimension 0 of the inputs a symbolic batch: the file's fixed batch (MobileFaceNet's is 2)
   * is replaced by the input's own wherever a RESHAPE names it. Default true.
   */
  dynamicBatch?: boolean;
}

/** Reads float16 (IEEE half) bits. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/**
 * A copy of `bytes` in its own, aligned buffer (tensor data inside a flatbuffer need not be).
 * Not `bytes.slice()`: on a Node Buffer that is a view, not a copy.
 */
const aligned = (bytes: Uint8Array): ArrayBuffer => new Uint8Array(bytes).buffer;

export class TfliteEmitter {
  readonly dynamicBatch: boolean;
  /** The file's batch: dimension 0 of its first input. */
  readonly fixedBatch: number;
  private readonly tensors: TfliteTensor[];
  private readonly values = new Map<number, Value>();
  /** Other layouts of a value, made once and shared by every consumer. */
  private readonly converted = new Map<string, string>();
  /** Constants computed at compile time: dequantized weights, fused PReLU slopes. */
  private readonly folded = new Map<number, Float32Array>();

  constructor(
    readonly g: GraphBuilder,
    readonly model: TfliteModel,
    options: EmitterOptions = {},
  ) {
    this.tensors = [...model.tensors];
    this.dynamicBatch = options.dynamicBatch ?? true;
    this.fixedBatch = this.tensor(model.inputs[0] ?? -1).shape[0] ?? 1;
  }

  tensor(i: number): TfliteTensor {
    const t = this.tensors[i];
    if (!t) throw new Error(`tensor ${i} does not exist`);
    return t;
  }

  shape(i: number): readonly number[] {
    return this.tensor(i).shape;
  }

  isConstant(i: number): boolean {
    return this.folded.has(i) || this.tensor(i).data !== undefined;
  }

  /** A float constant computed by the compiler, as a new tensor index. */
  addConstant(data: Float32Array, shape: readonly number[], name: string): number {
    const index = this.tensors.length;
    this.tensors.push({ index, name, type: 'float32', shape, shapeSignature: undefined, data: undefined, quantization: undefined, sparse: false });
    this.folded.set(index, data);
    return index;
  }

  /** Records a compile-time value for an operator's output (DEQUANTIZE of a constant). */
  fold(i: number, data: Float32Array): void {
    this.folded.set(i, data);
  }

  /** A constant as float32: stored float, float16 widened, or int8/uint8 dequantized (per tensor or per axis). */
  floats(i: number): Float32Array {
    const folded = this.folded.get(i);
    if (folded) return folded;
    const t = this.tensor(i);
    if (!t.data) throw new Error(`tensor ${t.name} is not a constant`);
    if (t.sparse) throw new Error(`tensor ${t.name} is sparse, which this compiler does not read`);
    const q = t.quantization;
    switch (t.type) {
      case 'float32':
        return new Float32Array(aligned(t.data));
      case 'float16':
        return Float32Array.from(new Uint16Array(aligned(t.data)), halfToFloat);
      case 'int8':
      case 'uint8': {
        const raw = t.type === 'int8' ? new Int8Array(aligned(t.data)) : t.data;
        if (!q) throw new Error(`tensor ${t.name} is ${t.type} without quantization parameters`);
        // Per-axis: the scale index is the coordinate on the quantized dimension.
        const inner = t.shape.slice(q.axis + 1).reduce((a, b) => a * b, 1);
        const perAxis = q.scale.length > 1 ? t.shape[q.axis]! : 1;
        return Float32Array.from(raw, (v, k) => {
          const c = perAxis === 1 ? 0 : Math.floor(k / inner) % perAxis;
          return q.scale[c]! * (v - Number(q.zeroPoint[c] ?? 0n));
        });
      }
      default:
        throw new Error(`tensor ${t.name}: constants of type ${t.type} are not supported`);
    }
  }

  /** An integer constant (shapes, axes, paddings). */
  ints(i: number): number[] {
    const t = this.tensor(i);
    if (!t.data) throw new Error(`tensor ${t.name} must be a constant here`);
    if (t.type === 'int32') return Array.from(new Int32Array(aligned(t.data)));
    if (t.type === 'int64') return Array.from(new BigInt64Array(aligned(t.data)), Number);
    throw new Error(`tensor ${t.name}: expected int32 or int64, found ${t.type}`);
  }

  /** Binds a TFLite tensor to an ONNX value (graph inputs, then every operator output). */
  define(i: number, name: string, layout: Layout = 'plain'): void {
    this.values.set(i, { name, layout: this.shape(i).length === 4 ? layout : 'plain' });
  }

  /** The layout an activation is held in; constants have none until asked for. */
  layoutOf(i: number): Layout | undefined {
    return this.values.get(i)?.layout;
  }

  /**
   * Tensor `i` as an ONNX value in `layout`, transposing an activation (once) or writing a constant
   * as an initializer. A constant asked for in 'nchw' is first given rank 4 with leading ones, as
   * TFLite broadcasting does, so that it broadcasts against NCHW activations the same way.
   */
  get(i: number, layout: Layout): string {
    const v = this.values.get(i);
    if (!v) return this.constant(i, layout);
    if (this.shape(i).length !== 4 || v.layout === layout) return v.name;
    const key = `${i}:${layout}`;
    let name = this.converted.get(key);
    if (!name) {
      name = this.g.op('Transpose', [v.name], { perm: layout === 'nchw' ? [0, 3, 1, 2] : [0, 2, 3, 1] });
      this.converted.set(key, name);
    }
    return name;
  }

  private constant(i: number, layout: Layout): string {
    const key = `${i}:${layout}`;
    const cached = this.converted.get(key);
    if (cached) return cached;
    const t = this.tensor(i);
    let name: string;
    if (t.type === 'int32' || t.type === 'int64') {
      name = this.g.int64(this.g.fresh('const'), this.ints(i), [...t.shape]);
    } else if (layout === 'plain' || t.shape.length > 4) {
      name = this.g.initializer(this.g.fresh('const'), this.floats(i), [...t.shape]);
    } else {
      const [n, h, w, c] = [...Array<number>(4 - t.shape.length).fill(1), ...t.shape] as [number, number, number, number];
      const src = this.floats(i);
      const out = new Float32Array(src.length);
      for (let a = 0; a < n; a++)
        for (let y = 0; y < h; y++)
          for (let x = 0; x < w; x++) for (let k = 0; k < c; k++) out[((a * c + k) * h + y) * w + x] = src[((a * h + y) * w + x) * c + k]!;
      name = this.g.initializer(this.g.fresh('const'), out, [n, c, h, w]);
    }
    this.converted.set(key, name);
    return name;
  }

  /**
   * Applies a fused activation (ActivationFunctionType) to `name`. Returns the activated value.
   * TANH and SIGN_BIT are refused: TFLite's float kernels turn the fused activation into a clamp
   * range (CalculateActivationRange), which has none for them, so what an interpreter does with one
   * is not well defined.
   */
  activation(name: string, fused: number): string {
    switch (fused) {
      case 0:
        return name;
      case 1:
        return this.g.op('Relu', [name]);
      case 2:
        return this.clip(name, -1, 1);
      case 3:
        return this.clip(name, 0, 6);
      default:
        throw new Error(`fused activation ${['', '', '', '', 'TANH', 'SIGN_BIT'][fused] || fused} is not supported`);
    }
  }

  clip(name: string, lo: number, hi: number): string {
    const min = this.g.initializer(this.g.fresh('min'), Float32Array.of(lo), []);
    const max = this.g.initializer(this.g.fresh('max'), Float32Array.of(hi), []);
    return this.g.op('Clip', [name, min, max]);
  }
}
