// Compiles face-api's SSD MobileNet v1 face detector to ONNX, anchors and box decoding included.
import { GraphBuilder } from '../../onnx/writer.js';
import { NetBuilder, type Act } from './layers.js';
import type { WeightMap } from './weights.js';

/** Side of the square image the detector sees. */
export const SSD_INPUT_SIZE = 512;

// face-api's BatchNorm epsilon, a float32 literal in its source.
const EPSILON = 0.0010000000474974513;

/**
 * The graph: `image` uint8 [1, H, W, 3], packed RGB of any size (padded and resized in-graph);
 * outputs `boxes` [N, 5118, 4] as (ymin, xmin, ymax, xmax) relative to the square, and `scores`
 * [N, 5118], the face probability of each anchor. NMS is left to the caller.
 */
export function compileSsd(weights: WeightMap): GraphBuilder {
  const g = new GraphBuilder('ssd_mobilenetv1');
  const n = new NetBuilder(g);
  let x = n.inputImage('image', SSD_INPUT_SIZE);
  x = n.channelOp('Div', x, [127.5]);
  x = n.channelOp('Sub', x, [1]);

  const pointwise = (input: Act, prefix: string, stride: number): Act => {
    const w = weights.get(`${prefix}/weights`, 4);
    const offset = weights.get(`${prefix}/convolution_bn_offset`, 1);
    return n.clip(n.conv(input, w, stride, 'same', { bias: offset.data }), 0, 6);
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
    return n.clip(n.conv(input, weights.get(`${p}/depthwise_weights`, 4), stride, 'same', { mul, add }, true), 0, 6);
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
    const enc = n.conv(src, weights.get(`${p}/BoxEncodingPredictor/weights`, 4), 1, 'same', { bias: weights.get(`${p}/BoxEncodingPredictor/biases`).data });
    const cls = n.conv(src, weights.get(`${p}/ClassPredictor/weights`, 4), 1, 'same', { bias: weights.get(`${p}/ClassPredictor/biases`).data });
    boxParts.push(n.flattenNhwc(enc, 4));
    classParts.push(n.flattenNhwc(cls, 3));
  });
  const encodings = g.op('Concat', boxParts, { axis: 1 });
  const classes = g.op('Concat', classParts, { axis: 1 });

  // Scores: sigmoid of class 1 (class 0 is background).
  const logit = g.op('Slice', [classes, g.int64('cls_start', [1]), g.int64('cls_end', [2]), g.int64('cls_axis', [2])]);
  const prob = g.op('Sigmoid', [logit]);
  g.node('Squeeze', [prob, g.int64('squeeze_axes', [2])], ['scores']);

  decodeBoxes(g, encodings, weights);
  g.output('boxes', 'float32', ['N', 'A', 4]);
  g.output('scores', 'float32', ['N', 'A']);
  return g;
}

/** face-api's decodeBoxesLayer, with the anchor sizes and centers precomputed in float32 as TF does. */
function decodeBoxes(g: GraphBuilder, encodings: string, weights: WeightMap): void {
  const anchors = weights.get('Output/extra_dim', 3);
  const count = anchors.shape[1]!;
  const size = new Float32Array(count * 2);
  const center = new Float32Array(count * 2);
  const f = Math.fround;
  for (let i = 0; i < count; i++) {
    const [y0, x0, y1, x1] = [0, 1, 2, 3].map((k) => anchors.data[i * 4 + k]!) as [number, number, number, number];
    size[i * 2] = f(y1 - y0);
    size[i * 2 + 1] = f(x1 - x0);
    center[i * 2] = f(y0 + f(size[i * 2]! / 2));
    center[i * 2 + 1] = f(x0 + f(size[i * 2 + 1]! / 2));
  }
  const sizeT = g.initializer('anchor_size', size, [count, 2]);
  const centerT = g.initializer('anchor_center', center, [count, 2]);
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
