// TFLite builtin operators as ONNX nodes: one converter per operator, options read by schema field number.
import { float } from '../writer.js';
import { NCHW_AXIS, type Layout, type TfliteEmitter } from './emitter.js';
import type { TfliteOperator } from './reader.js';

export type Converter = (e: TfliteEmitter, op: TfliteOperator) => void;

/** TFLite's Padding enum: SAME = 0, VALID = 1. */
const VALID = 1;

/**
 * Output size and pads on one spatial axis, as TFLite's ComputePaddingHeightWidth computes them:
 * SAME puts the odd pixel after (bottom/right), like ONNX SAME_UPPER, but explicit pads keep the
 * graph free of auto_pad.
 */
function spatial(size: number, k: number, stride: number, dilation: number, padding: number): { out: number; before: number; after: number } {
  if (stride < 1 || dilation < 1) throw new Error(`invalid stride ${stride} or dilation ${dilation}`);
  const eff = (k - 1) * dilation + 1;
  if (padding === VALID) return { out: Math.floor((size - eff) / stride) + 1, before: 0, after: 0 };
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + eff - size, 0);
  return { out, before: Math.floor(total / 2), after: total - Math.floor(total / 2) };
}

/** Pads and strides attributes for a window over input tensor `x` (NHWC shape). */
function window(e: TfliteEmitter, x: number, kh: number, kw: number, sh: number, sw: number, dh: number, dw: number, padding: number) {
  const [, h, w] = e.shape(x) as [number, number, number, number];
  const ph = spatial(h, kh, sh, dh, padding);
  const pw = spatial(w, kw, sw, dw, padding);
  return { kernel_shape: [kh, kw], strides: [sh, sw], pads: [ph.before, pw.before, ph.after, pw.after] };
}

/** Permutes a TFLite filter [O, H, W, I] (`depthwise`: [1, H, W, O]) to ONNX's [O, I, H, W]. */
function filterOihw(data: Float32Array, shape: readonly number[], depthwise: boolean): { data: Float32Array; dims: number[] } {
  const [a, kh, kw, b] = shape as [number, number, number, number];
  const [o, i] = depthwise ? [b, 1] : [a, b];
  const out = new Float32Array(data.length);
  for (let oc = 0; oc < o; oc++)
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let ic = 0; ic < i; ic++) {
          const src = depthwise ? (y * kw + x) * o + oc : ((oc * kh + y) * kw + x) * i + ic;
          out[((oc * i + ic) * kh + y) * kw + x] = data[src]!;
        }
  return { data: out, dims: [o, i, kh, kw] };
}

function conv(e: TfliteEmitter, op: TfliteOperator, depthwise: boolean): void {
  const [x, w, b] = op.inputs as [number, number, number | undefined];
  const o = op.options;
  // Conv2DOptions: padding, stride_w, stride_h, activation, dilation_w, dilation_h.
  // DepthwiseConv2DOptions has depth_multiplier (redundant with the filter's shape) before activation.
  const d = depthwise ? 1 : 0;
  const [padding, sw, sh, act, dw, dh] = [o.byte(0), o.int(1), o.int(2), o.byte(3 + d), o.int(4 + d, 1), o.int(5 + d, 1)];
  if (!e.isConstant(w)) throw new Error(`${op.op}: a filter computed at run time is not supported`);
  const fshape = e.shape(w) as [number, number, number, number];
  const inC = e.shape(x)[3]!;
  const filter = filterOihw(e.floats(w), fshape, depthwise);
  // A CONV_2D filter with fewer input channels than the activation is a grouped convolution.
  const group = depthwise ? inC : inC / fshape[3];
  if (!Number.isInteger(group)) throw new Error(`${op.op}: ${inC} input channels do not split into groups of ${fshape[3]}`);
  const inputs = [e.get(x, 'nchw'), e.g.initializer(e.g.fresh('w'), filter.data, filter.dims)];
  if (b !== undefined && b >= 0) inputs.push(e.get(b, 'plain'));
  const y = e.g.op('Conv', inputs, { ...window(e, x, fshape[1], fshape[2], sh, sw, dh, dw, padding), dilations: [dh, dw], group });
  e.define(op.outputs[0]!, e.activation(y, act), 'nchw');
}

function pool(kind: 'MaxPool' | 'AveragePool'): Converter {
  return (e, op) => {
    const x = op.inputs[0]!;
    const o = op.options;
    // Pool2DOptions: padding, stride_w, stride_h, filter_width, filter_height, activation.
    // SAME average pools divide by the pixels inside the image, which is ONNX's default.
    const y = e.g.op(kind, [e.get(x, 'nchw')], window(e, x, o.int(4), o.int(3), o.int(2), o.int(1), 1, 1, o.byte(0)));
    e.define(op.outputs[0]!, e.activation(y, o.byte(5)), 'nchw');
  };
}

/**
 * The layout an elementwise operator works in: NCHW when its output is 4-D and every activation
 * it reads is 4-D (constants are permuted to match), else TFLite's own.
 */
function elementwiseLayout(e: TfliteEmitter, op: TfliteOperator): Layout {
  if (e.shape(op.outputs[0]!).length !== 4) return 'plain';
  const acts = op.inputs.filter((i) => !e.isConstant(i));
  return acts.every((i) => e.shape(i).length === 4) && acts.some((i) => e.layoutOf(i) === 'nchw') ? 'nchw' : 'plain';
}

/** ADD, SUB, MUL, DIV and comparisons; `fusedField` is the options field of a fused activation. */
function binary(onnx: string, fusedField?: number): Converter {
  return (e, op) => {
    const layout = elementwiseLayout(e, op);
    const y = e.g.op(
      onnx,
      op.inputs.map((i) => e.get(i, layout)),
    );
    e.define(op.outputs[0]!, fusedField === undefined ? y : e.activation(y, op.options.byte(fusedField)), layout);
  };
}

/** An operator that keeps its input's layout: activations and casts. */
function unary(build: (e: TfliteEmitter, x: string, op: TfliteOperator) => string): Converter {
  return (e, op) => {
    const x = op.inputs[0]!;
    const layout = e.layoutOf(x) ?? 'plain';
    e.define(op.outputs[0]!, build(e, e.get(x, layout), op), layout);
  };
}

const simple = (onnx: string): Converter => unary((e, x) => e.g.op(onnx, [x]));

/**
 * PRELU. On a 4-D NCHW value, not ONNX PRelu: onnxruntime has no NCHWc (blocked layout) kernel for
 * it, so every PRelu cost a reorder out of and back into the convolutions' layout, and its
 * broadcasting loop is slow. Instead, with 1×1 depthwise convolutions that stay in NCHWc:
 * relu(x) + (-alpha) * relu(-1 * x). Exact (multiplying by -1 and adding a zero are), and measured on
 * MobileFaceNet, batch 16, 2 threads: 16.5 ms per face with PRelu, 10.8 ms with this, 8.3 ms with
 * plain Relu in its place (the floor).
 */
const prelu: Converter = (e, op) => {
  const [x, alpha] = op.inputs as [number, number];
  const g = e.g;
  const slope = e.floats(alpha);
  const c = e.shape(x)[3];
  if (e.layoutOf(x) !== 'nchw' || slope.length !== c) {
    const layout = e.layoutOf(x) ?? 'plain';
    e.define(op.outputs[0]!, g.op('PRelu', [e.get(x, layout), e.get(alpha, layout)]), layout);
    return;
  }
  const scale = (v: string, w: Float32Array) => g.op('Conv', [v, g.initializer(g.fresh('w'), w, [c, 1, 1, 1])], { group: c, kernel_shape: [1, 1] });
  const xs = e.get(x, 'nchw');
  const negative = g.op('Relu', [scale(xs, new Float32Array(c).fill(-1))]);
  e.define(
    op.outputs[0]!,
    g.op('Add', [
      scale(
        negative,
        slope.map((a) => -a),
      ),
      g.op('Relu', [xs]),
    ]),
    'nchw',
  );
};

/** ONNX TensorProto data types of the TFLite types a CAST may produce. */
const ONNX_TYPE: Record<string, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9 };

/**
 * The target of a RESHAPE: the output's static shape, with the file's fixed batch replaced by 0
 * (ONNX: copy the input's dimension) when both ends carry the batch first, so that the graph takes
 * any batch. A reshape that moves the batch elsewhere keeps the file's numbers.
 */
function reshapeTarget(e: TfliteEmitter, x: number, out: number): number[] {
  const target = [...e.shape(out)];
  if (e.dynamicBatch && target[0] === e.fixedBatch && e.shape(x)[0] === e.fixedBatch) target[0] = 0;
  return target;
}

function reduce(onnx: 'ReduceMax' | 'ReduceSum'): Converter {
  return (e, op) => {
    const [x, axesTensor] = op.inputs as [number, number];
    const rank = e.shape(x).length;
    // ReducerOptions: keep_dims. Reducing a 4-D NCHW value in place keeps it 4-D only with keep_dims.
    const keep = op.options.bool(0);
    const layout: Layout = keep && rank === 4 && e.layoutOf(x) === 'nchw' ? 'nchw' : 'plain';
    const axes = e
      .ints(axesTensor)
      .map((a) => (a < 0 ? a + rank : a))
      .map((a) => (layout === 'nchw' ? NCHW_AXIS[a]! : a));
    const input = e.get(x, layout);
    // Opset 17: ReduceSum takes its axes as an input, the others still as an attribute.
    const y =
      onnx === 'ReduceSum'
        ? e.g.op(onnx, [input, e.g.int64(e.g.fresh('axes'), axes)], { keepdims: keep ? 1 : 0 })
        : e.g.op(onnx, [input], { axes, keepdims: keep ? 1 : 0 });
    e.define(op.outputs[0]!, y, layout);
  };
}

const INT64_MAX = 2 ** 62;

/**
 * STRIDED_SLICE with begin, end and shrink masks (StridedSliceOptions fields 0, 1 and 4); the
 * ellipsis and new-axis masks are refused. A full slice of the batch axis stays open-ended so that
 * the batch can vary.
 */
const stridedSlice: Converter = (e, op) => {
  const [x, b, en, s] = op.inputs as [number, number, number, number];
  const o = op.options;
  if (o.int(2) || o.int(3)) throw new Error('STRIDED_SLICE: ellipsis and new-axis masks are not supported');
  if (o.bool(5)) throw new Error('STRIDED_SLICE: offset mode is not supported');
  const [begin, end, strides] = [e.ints(b), e.ints(en), e.ints(s)];
  const shape = e.shape(x);
  const starts: number[] = [];
  const ends: number[] = [];
  begin.forEach((_, axis) => {
    const step = strides[axis]!;
    const bit = 1 << axis;
    const start = o.int(0) & bit ? (step > 0 ? 0 : -1) : begin[axis]!;
    let stop = o.int(1) & bit ? (step > 0 ? INT64_MAX : -INT64_MAX) : end[axis]!;
    // A shrunk axis takes the one element at its begin, whatever its end says.
    if (o.int(4) & bit) stop = start === -1 ? INT64_MAX : start + 1;
    if (axis === 0 && e.dynamicBatch && start === 0 && step === 1 && stop >= shape[0]!) stop = INT64_MAX;
    starts.push(start);
    ends.push(stop);
  });
  const g = e.g;
  const axes = begin.map((_, i) => i);
  let y = g.op('Slice', [
    e.get(x, 'plain'),
    g.int64(g.fresh('starts'), starts),
    g.int64(g.fresh('ends'), ends),
    g.int64(g.fresh('axes'), axes),
    g.int64(g.fresh('steps'), strides),
  ]);
  const shrink = axes.filter((a) => o.int(4) & (1 << a));
  if (shrink.length) y = g.op('Squeeze', [y, g.int64(g.fresh('axes'), shrink)]);
  e.define(op.outputs[0]!, y, 'plain');
};

/** Every operator the compiler knows; the parity tests cover each of them (test/tflite-parity.test.ts). */
export const CONVERTERS: Record<string, Converter> = {
  CONV_2D: (e, op) => conv(e, op, false),
  DEPTHWISE_CONV_2D: (e, op) => conv(e, op, true),
  MAX_POOL_2D: pool('MaxPool'),
  AVERAGE_POOL_2D: pool('AveragePool'),
  // AddOptions, SubOptions, MulOptions and DivOptions all hold the activation in field 0.
  ADD: binary('Add', 0),
  SUB: binary('Sub', 0),
  MUL: binary('Mul', 0),
  DIV: binary('Div', 0),
  LESS: binary('Less'),
  GREATER_EQUAL: binary('GreaterOrEqual'),
  RELU: simple('Relu'),
  ABS: simple('Abs'),
  NEG: simple('Neg'),
  EXP: simple('Exp'),
  LEAKY_RELU: unary((e, x, op) => e.g.op('LeakyRelu', [x], { alpha: float(op.options.float(0)) })),
  PRELU: prelu,
  CAST: unary((e, x, op) => {
    const to = ONNX_TYPE[e.tensor(op.outputs[0]!).type];
    if (to === undefined) throw new Error(`CAST to ${e.tensor(op.outputs[0]!).type} is not supported`);
    return e.g.op('Cast', [x], { to });
  }),
  DEQUANTIZE: (e, op) => {
    // Weights stored as float16 or int8 beside a float graph: dequantized once, here.
    const x = op.inputs[0]!;
    if (!e.isConstant(x)) throw new Error('DEQUANTIZE of an activation: quantized (integer) models are not supported');
    e.fold(op.outputs[0]!, e.floats(x));
  },
  RESHAPE: (e, op) => {
    const [x] = op.inputs as [number];
    const shape = e.g.int64(e.g.fresh('shape'), reshapeTarget(e, x, op.outputs[0]!));
    e.define(op.outputs[0]!, e.g.op('Reshape', [e.get(x, 'plain'), shape]), 'plain');
  },
  FULLY_CONNECTED: (e, op) => {
    const [x, w, b] = op.inputs as [number, number, number | undefined];
    const o = op.options;
    // FullyConnectedOptions: activation, weights_format (0: plain), keep_num_dims.
    if (o.byte(1) !== 0) throw new Error('FULLY_CONNECTED: shuffled weight formats are not supported');
    if (o.bool(2)) throw new Error('FULLY_CONNECTED: keep_num_dims is not supported');
    if (!e.isConstant(w)) throw new Error('FULLY_CONNECTED: weights computed at run time are not supported');
    const [units, depth] = e.shape(w) as [number, number];
    const g = e.g;
    // TFLite flattens the input, in its own element order, to rows of the weights' depth.
    const rows = g.op('Reshape', [e.get(x, 'plain'), g.int64(g.fresh('shape'), [-1, depth])]);
    const inputs = [rows, g.initializer(g.fresh('fc'), e.floats(w), [units, depth])];
    if (b !== undefined && b >= 0) inputs.push(e.get(b, 'plain'));
    const y = g.op('Gemm', inputs, { transB: 1 });
    e.define(op.outputs[0]!, e.activation(y, o.byte(0)), 'plain');
  },
  CONCATENATION: (e, op) => {
    // ConcatenationOptions: axis, activation.
    const rank = e.shape(op.outputs[0]!).length;
    const axis = (op.options.int(0) + rank) % rank;
    const layout = elementwiseLayout(e, op);
    const y = e.g.op(
      'Concat',
      op.inputs.map((i) => e.get(i, layout)),
      { axis: layout === 'nchw' ? NCHW_AXIS[axis]! : axis },
    );
    e.define(op.outputs[0]!, e.activation(y, op.options.byte(1)), layout);
  },
  REDUCE_MAX: reduce('ReduceMax'),
  SUM: reduce('ReduceSum'),
  STRIDED_SLICE: stridedSlice,
};
