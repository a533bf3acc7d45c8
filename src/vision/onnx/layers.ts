// TensorFlow layer semantics (NHWC, HWIO filters, SAME padding) emitted as NCHW ONNX nodes.
import { GraphBuilder, float } from '../../onnx/writer.js';
import type { TfWeight } from './weights.js';

/** An activation in the graph: NCHW with a symbolic batch, and its static channel and spatial size. */
export interface Act {
  readonly name: string;
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/**
 * TF's SAME and VALID for the static size an Act records; `same-any`: SAME as TF pads a size that
 * the stride divides, for every size (the graph's height and width may vary): the head pad of that
 * case, and at the end whatever makes ceil(size / stride) outputs. Identical to SAME on such sizes.
 */
export type Padding = 'same' | 'valid' | 'same-any';

/** Per-output-channel affine applied after a convolution: y = (conv + bias) * mul + add. */
export interface ConvAffine {
  bias?: Float32Array;
  mul?: Float32Array;
  add?: Float32Array;
}

/**
 * TF pads for one axis. SAME puts the odd pixel at the end (bottom/right), which ONNX's
 * auto_pad=SAME_UPPER also does, but explicit pads keep the graph free of auto_pad, whose
 * support differs between runtimes and optimizers.
 */
function tfPads(size: number, k: number, stride: number, padding: Padding): { out: number; before: number; after: number } {
  if (padding === 'valid') return { out: Math.floor((size - k) / stride) + 1, before: 0, after: 0 };
  if (padding === 'same-any') {
    const before = Math.floor(Math.max(k - stride, 0) / 2);
    return { out: Math.ceil(size / stride), before, after: k - 1 - before };
  }
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + k - size, 0);
  return { out, before: Math.floor(total / 2), after: total - Math.floor(total / 2) };
}

/** Builds a network in NCHW from TensorFlow.js weights, tracking static shapes so pads are exact. */
export class NetBuilder {
  constructor(readonly g: GraphBuilder) {}

  /** Graph input in TF layout [N, size, size, 3], float32; returns it transposed to NCHW. */
  inputNhwc(name: string, size: number): Act {
    this.g.input(name, 'float32', ['N', size, size, 3]);
    return { name: this.g.op('Transpose', [name], { perm: [0, 3, 1, 2] }), c: 3, h: size, w: size };
  }

  /**
   * Graph input of one packed RGB image as it comes from the decoder, uint8 [1, H, W, 3] of any size,
   * turned in-graph into what face-api feeds its detectors: zeros appended to the bottom or right to
   * make a square, then TF's resizeBilinear (no align_corners, no half-pixel centres: ONNX
   * 'asymmetric') to size×size, float32 NCHW. Native code instead of a TypeScript loop: measured
   * 9–18 ms per 640×480 frame on the event loop, and a 3 MB Float32Array per call.
   */
  inputImage(name: string, size: number): Act {
    const g = this.g;
    g.input(name, 'uint8', [1, 'H', 'W', 3]);
    const chw = g.op('Cast', [g.op('Transpose', [name], { perm: [0, 3, 1, 2] })], { to: 1 });
    const hw = g.op('Slice', [g.op('Shape', [chw]), g.int64(g.fresh('hw_start'), [2]), g.int64(g.fresh('hw_end'), [4])]);
    const side = g.op('ReduceMax', [hw], { keepdims: 1 });
    const pads = g.op('Concat', [g.int64(g.fresh('pads_head'), [0, 0, 0, 0, 0, 0]), g.op('Sub', [side, hw])], { axis: 0 });
    const square = g.op('Pad', [chw, pads]);
    const resized = g.op('Resize', [square, '', '', g.int64(g.fresh('sizes'), [1, 3, size, size])], {
      mode: 'linear',
      coordinate_transformation_mode: 'asymmetric',
    });
    return { name: resized, c: 3, h: size, w: size };
  }

  /** Elementwise op against a per-channel constant, e.g. mean subtraction. */
  channelOp(op: 'Sub' | 'Mul' | 'Div' | 'Add', x: Act, values: readonly number[]): Act {
    const k = this.g.initializer(this.g.fresh('k'), Float32Array.from(values), values.length === 1 ? [] : [1, values.length, 1, 1]);
    return { ...x, name: this.g.op(op, [x.name, k]) };
  }

  /**
   * conv2d with an HWIO filter, or a depthwise conv with an HWCM filter (becomes a group conv:
   * output channel c*M+m reads input channel c, as in TF).
   */
  conv(x: Act, filter: TfWeight, stride: number, padding: Padding, affine: ConvAffine = {}, depthwise = false): Act {
    const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
    if (ci !== x.c) throw new Error(`conv: filter wants ${ci} input channels, activation has ${x.c}`);
    const outC = depthwise ? ci * co : co;
    const perGroupIn = depthwise ? 1 : ci;
    const w = new Float32Array(outC * perGroupIn * kh * kw);
    const mul = affine.mul;
    for (let y = 0; y < kh; y++)
      for (let xx = 0; xx < kw; xx++)
        for (let i = 0; i < ci; i++)
          for (let o = 0; o < co; o++) {
            const v = filter.data[((y * kw + xx) * ci + i) * co + o]!;
            const oc = depthwise ? i * co + o : o;
            const ic = depthwise ? 0 : i;
            w[((oc * perGroupIn + ic) * kh + y) * kw + xx] = mul ? v * mul[oc]! : v;
          }
    const hasBias = affine.bias || affine.add;
    const b = new Float32Array(outC);
    for (let o = 0; o < outC; o++) b[o] = (affine.bias?.[o] ?? 0) * (mul?.[o] ?? 1) + (affine.add?.[o] ?? 0);
    const ph = tfPads(x.h, kh, stride, padding);
    const pw = tfPads(x.w, kw, stride, padding);
    const inputs = [x.name, this.g.initializer(this.g.fresh('w'), w, [outC, perGroupIn, kh, kw])];
    if (hasBias) inputs.push(this.g.initializer(this.g.fresh('b'), b, [outC]));
    const name = this.g.op('Conv', inputs, {
      kernel_shape: [kh, kw],
      strides: [stride, stride],
      pads: [ph.before, pw.before, ph.after, pw.after],
      group: depthwise ? ci : 1,
    });
    return { name, c: outC, h: ph.out, w: pw.out };
  }

  /** TF separableConv2d: depthwise (SAME) then pointwise 1x1 with bias. */
  separable(x: Act, depthwise: TfWeight, pointwise: TfWeight, bias: TfWeight, stride: number): Act {
    const d = this.conv(x, depthwise, stride, 'same', {}, true);
    return this.conv(d, pointwise, 1, 'valid', { bias: bias.data });
  }

  relu(x: Act): Act {
    return { ...x, name: this.g.op('Relu', [x.name]) };
  }

  /** clipByValue; relu6 in MobileNet. */
  clip(x: Act, lo: number, hi: number): Act {
    const min = this.g.initializer(this.g.fresh('min'), Float32Array.of(lo), []);
    const max = this.g.initializer(this.g.fresh('max'), Float32Array.of(hi), []);
    return { ...x, name: this.g.op('Clip', [x.name, min, max]) };
  }

  leakyRelu(x: Act, alpha: number): Act {
    return { ...x, name: this.g.op('LeakyRelu', [x.name], { alpha: float(alpha) }) };
  }

  add(a: Act, ...rest: Act[]): Act {
    let out = a;
    for (const b of rest) out = { ...out, name: this.g.op('Add', [out.name, b.name]) };
    return out;
  }

  /** TF pooling with VALID or SAME padding; SAME average pools exclude the padding, as TF does. */
  pool(kind: 'avg' | 'max', x: Act, k: number, stride: number, padding: Padding = 'valid'): Act {
    const ph = tfPads(x.h, k, stride, padding);
    const pw = tfPads(x.w, k, stride, padding);
    const name = this.g.op(kind === 'avg' ? 'AveragePool' : 'MaxPool', [x.name], {
      kernel_shape: [k, k],
      strides: [stride, stride],
      pads: [ph.before, pw.before, ph.after, pw.after],
    });
    return { name, c: x.c, h: ph.out, w: pw.out };
  }

  /** Zero padding at the end of the channel, height and width axes. */
  padEnd(x: Act, dc: number, dh: number, dw: number): Act {
    if (dc === 0 && dh === 0 && dw === 0) return x;
    const pads = this.g.int64(this.g.fresh('pads'), [0, 0, 0, 0, 0, dc, dh, dw]);
    return { name: this.g.op('Pad', [x.name, pads]), c: x.c + dc, h: x.h + dh, w: x.w + dw };
  }

  /**
   * Back to TF layout, flattened as TF reshapes do (H, W, C order): [N, H*W*C], or
   * [N, H*W*C/rowLength, rowLength] when a row length is given.
   */
  flattenNhwc(x: Act, rowLength?: number): string {
    const t = this.g.op('Transpose', [x.name], { perm: [0, 2, 3, 1] });
    const shape = rowLength === undefined ? [0, -1] : [0, -1, rowLength];
    return this.g.op('Reshape', [t, this.g.int64(this.g.fresh('shape'), shape)]);
  }

  /** Fully connected: x [N, K] @ weights [K, M] + bias. */
  dense(x: string, weights: TfWeight, bias?: TfWeight): string {
    const w = this.g.initializer(this.g.fresh('fc'), weights.data, weights.shape);
    const y = this.g.op('MatMul', [x, w]);
    if (!bias) return y;
    return this.g.op('Add', [y, this.g.initializer(this.g.fresh('fcb'), bias.data, bias.shape)]);
  }
}
