// Compiles face-api's SSD MobileNet v1 face detector to ONNX, anchors and box decoding included.
import { GraphBuilder } from '../../onnx/writer.js';
import { NetBuilder, type Act } from './layers.js';
import { SSD_TRAINED_SIDE } from './ssd-anchors.js';
import type { WeightMap } from './weights.js';

/** Side of the square image face-api's detector sees (photos: ssd-input.ts). */
export const SSD_INPUT_SIZE = SSD_TRAINED_SIDE;

/** The name of the normalised network input [1, 3, h, w], for FLOP counts at a given size. */
export const SSD_NET_INPUT = 'ssd_net_input';

// face-api's BatchNorm epsilon, a float32 literal in its source.
const EPSILON = 0.0010000000474974513;

/**
 * The graph, for an input of any size (conv weights do not care; only the anchors depend on the
 * grid, and they come in as inputs, from ssd-anchors.ts):
 * - `image` uint8 [1, H, W, 3], packed RGB as decoded;
 * - `layout` int64 [4] (padH, padW, netH, netW): zeros appended to the bottom and right up to
 *   padH×padW, then TF's resizeBilinear to netH×netW, the size the network sees. face-api's square:
 *   (side, side, 512, 512) with side the long side; a video frame at its own aspect: (H, W, h, w);
 * - `anchor_center`, `anchor_size` float32 [A, 2] (y, x), relative to netH×netW, A anchors in the
 *   order of the predictions (`ssdAnchors(netH, netW)`: 5118 at 512×512).
 * Outputs `boxes` [N, A, 4] as (ymin, xmin, ymax, xmax) relative to the padded image, and `scores`
 * [N, A], the face probability of each anchor. NMS is left to the caller.
 *
 * Every stride-2 convolution pads as TF's SAME does on an even size (`same-any`), whatever the size:
 * the same pixels under each cell as on the 512 square the network was trained on, so the anchors
 * keep their places in pixels.
 */
export function compileSsd(weights: WeightMap): GraphBuilder {
  const g = new GraphBuilder('ssd_mobilenetv1');
  const n = new NetBuilder(g);
  let x = inputLayout(g, SSD_NET_INPUT, SSD_INPUT_SIZE);
  x = n.channelOp('Div', x, [127.5]);
  x = n.channelOp('Sub', x, [1]);

  const pointwise = (input: Act, prefix: string, stride: number): Act => {
    const w = weights.get(`${prefix}/weights`, 4);
    const offset = weights.get(`${prefix}/convolution_bn_offset`, 1);
    return n.clip(n.conv(input, w, stride, 'same-any', { bias: offset.data }), 0, 6);
  };

  const depthwise = (input: Act, idx: number, stride: number): Act => {
    const p = `MobilenetV1/Conv2d_${idx}_depthwise`;
    const gamma = weights.get(`${p}/BatchNorm/gamma`).data;
    const beta = weights.get(`${p}/BatchNorm/beta`).data;
    const mean = weights.get(`${p}/BatchNorm/moving_mean`).data;
    const variance = weights.get(`${p}/BatchNorm/moving_variance`).data;
    // Batch norm folded into the filter: (conv - mean) * gamma / sqrt(var + eps) + beta.
    const mul = gamma.map((s, i) => s / Math.sqrt(variance[i]! + EPSILON));
    const add = beta.map((b, i) => b - mean[i]! * mul[i]!);
    return n.clip(n.conv(input, weights.get(`${p}/depthwise_weights`, 4), stride, 'same-any', { mul, add }, true), 0, 6);
  };

  // MobileNet v1 body: strides as in face-api's getStridesForLayerIdx.
  x = pointwise(x, 'MobilenetV1/Conv2d_0_pointwise', 2);
  let conv11: Act | undefined;
  for (let i = 1; i <= 13; i++) {
    x = depthwise(x, i, [2, 4, 6, 12].includes(i) ? 2 : 1);
    x = pointwise(x, `MobilenetV1/Conv2d_${i}_pointwise`, 1);
    if (i === 11) conv11 = x;
  }
  if (!conv11) throw new Error('ssd: conv 11 missing');

  // Extra feature maps of the prediction layer.
  const extra: Act[] = [];
  let y = x;
  for (let i = 0; i < 8; i++) {
    y = pointwise(y, `Prediction/Conv2d_${i}_pointwise`, i % 2 === 1 ? 2 : 1);
    extra.push(y);
  }
  const sources = [conv11, x, extra[1]!, extra[3]!, extra[5]!, extra[7]!];

  const boxParts: string[] = [];
  const classParts: string[] = [];
  sources.forEach((src, i) => {
    const p = `Prediction/BoxPredictor_${i}`;
    const enc = n.conv(src, weights.get(`${p}/BoxEncodingPredictor/weights`, 4), 1, 'same-any', { bias: weights.get(`${p}/BoxEncodingPredictor/biases`).data });
    const cls = n.conv(src, weights.get(`${p}/ClassPredictor/weights`, 4), 1, 'same-any', { bias: weights.get(`${p}/ClassPredictor/biases`).data });
    boxParts.push(n.flattenNhwc(enc, 4));
    classParts.push(n.flattenNhwc(cls, 3));
  });
  const encodings = g.op('Concat', boxParts, { axis: 1 });
  const classes = g.op('Concat', classParts, { axis: 1 });

  // Scores: sigmoid of class 1 (class 0 is background).
  const logit = g.op('Slice', [classes, g.int64('cls_start', [1]), g.int64('cls_end', [2]), g.int64('cls_axis', [2])]);
  const prob = g.op('Sigmoid', [logit]);
  g.node('Squeeze', [prob, g.int64('squeeze_axes', [2])], ['scores']);

  decodeBoxes(g, encodings);
  g.output('boxes', 'float32', ['N', 'A', 4]);
  g.output('scores', 'float32', ['N', 'A']);
  return g;
}

/**
 * A detector graph's input: `image` padded and resized by `layout` (see compileSsd), float32 NCHW,
 * named `output`; with `bytes`, padded and resized as uint8 and made floats after (BlazeFace; the
 * float SSD keeps face-api's float resize, for parity; the int8 one reads bytes, {@link ssdBytesIn}).
 * Native code instead of a TypeScript loop: measured 9–18 ms per 640×480 frame on the event loop,
 * and a 3 MB Float32Array per call. The static size recorded (`nominal`) only names
 * the usual case: every padding after it is `same-any`, right for any size.
 */
export function inputLayout(g: GraphBuilder, output: string, nominal: number, bytes = false): Act {
  g.input('image', 'uint8', [1, 'H', 'W', 3]);
  g.input('layout', 'int64', [4]);
  const transposed = g.op('Transpose', ['image'], { perm: [0, 3, 1, 2] });
  const chw = bytes ? transposed : g.op('Cast', [transposed], { to: 1 });
  const hw = g.op('Slice', [g.op('Shape', [chw]), g.int64('hw_start', [2]), g.int64('hw_end', [4])]);
  const padded = g.op('Slice', ['layout', g.int64('layout_0', [0]), g.int64('layout_2', [2])]);
  const pads = g.op('Concat', [g.int64('pads_head', [0, 0, 0, 0, 0, 0]), g.op('Sub', [padded, hw])], { axis: 0 });
  const net = g.op('Slice', ['layout', 'layout_2', g.int64('layout_4', [4])]);
  const sizes = g.op('Concat', [g.int64('sizes_head', [1, 3]), net], { axis: 0 });
  const attrs = { mode: 'linear', coordinate_transformation_mode: 'asymmetric' };
  if (bytes) g.node('Cast', [g.op('Resize', [g.op('Pad', [chw, pads]), '', '', sizes], attrs)], [output], { to: 1 });
  else g.node('Resize', [g.op('Pad', [chw, pads]), '', '', sizes], [output], attrs);
  return { name: output, c: 3, h: nominal, w: nominal };
}

/**
 * The SSD's normalised input: the output of face-api's x / 127.5 - 1 on {@link SSD_NET_INPUT}, the
 * tensor its first convolution reads.
 */
export function ssdNormalisedInput(g: GraphBuilder): string {
  const after = (input: string, op: string) => {
    const node = g.nodeList.find((n) => n.op === op && n.inputs[0] === input);
    if (!node) throw new Error(`ssd: no ${op} after ${input}`);
    return node.outputs[0]!;
  };
  return after(after(SSD_NET_INPUT, 'Div'), 'Sub');
}

/**
 * The quantised SSD (int8-models.ts) made to read the image's bytes as its first convolution's uint8
 * input: padded and resized as uint8, no float image, no normalisation and no QuantizeLinear. The
 * convolution's input must have been quantised at scale 1/127.5, zero point 128, so that a byte is its
 * own uint8 form (face-api's x / 127.5 - 1, half a level lower). A 1366×768 photo (seen at 683×384,
 * padded to 683×683, resized to 512×512; onnxruntime's profiler, medians of 20): the float Cast, Pad,
 * Resize, Div, Sub and QuantizeLinear took 4.7 of the pass's 20 ms, the bytes' Pad and Resize take 1.7
 * of 14.3 ms; outside the profiler a photo's detection takes 1.3–2.5 ms less (docs/benchmarks.md).
 */
export function ssdBytesIn(g: GraphBuilder): void {
  const normalised = ssdNormalisedInput(g);
  const resize = g.nodeList.find((n) => n.op === 'Resize' && n.outputs[0] === SSD_NET_INPUT);
  const pad = g.nodeList.find((n) => n.op === 'Pad' && n.outputs[0] === resize?.inputs[0]);
  const cast = g.nodeList.find((n) => n.op === 'Cast' && n.outputs[0] === pad?.inputs[0]);
  const quantize = g.nodeList.find((n) => n.op === 'QuantizeLinear' && n.inputs[0] === normalised);
  if (!resize || !pad || !cast || !quantize) throw new Error('ssd: the input stage is not the one ssdBytesIn rewrites');
  const div = g.nodeList.find((n) => n.op === 'Div' && n.inputs[0] === SSD_NET_INPUT)!;
  const sub = g.nodeList.find((n) => n.op === 'Sub' && n.outputs[0] === normalised)!;
  const dropped = new Set([cast, div, sub, quantize]);
  // What read the float image reads the bytes (Pad, and Shape for the padding); what read the
  // quantised input reads the resized bytes.
  const renamed = new Map([
    [cast.outputs[0]!, cast.inputs[0]!],
    [quantize.outputs[0]!, SSD_NET_INPUT],
  ]);
  g.rewriteNodes((nodes) => nodes.filter((n) => !dropped.has(n)).map((n) => ({ ...n, inputs: n.inputs.map((i) => renamed.get(i) ?? i) })));
}

/** face-api's decodeBoxesLayer over the anchors given as inputs (centres and sizes precomputed in float32 as TF does). */
function decodeBoxes(g: GraphBuilder, encodings: string): void {
  const centerT = g.input('anchor_center', 'float32', ['A', 2]);
  const sizeT = g.input('anchor_size', 'float32', ['A', 2]);
  const axis = g.int64('enc_axis', [2]);
  const tyx = g.op('Slice', [encodings, g.int64('enc_0', [0]), g.int64('enc_2', [2]), axis]);
  const thw = g.op('Slice', [encodings, 'enc_2', g.int64('enc_4', [4]), axis]);
  const c = g.op('Add', [g.op('Mul', [g.op('Div', [tyx, g.initializer('ten', Float32Array.of(10), [])]), sizeT]), centerT]);
  const half = g.op('Div', [
    g.op('Mul', [g.op('Exp', [g.op('Div', [thw, g.initializer('five', Float32Array.of(5), [])])]), sizeT]),
    g.initializer('two', Float32Array.of(2), []),
  ]);
  g.node('Concat', [g.op('Sub', [c, half]), g.op('Add', [c, half])], ['boxes'], { axis: 2 });
}
