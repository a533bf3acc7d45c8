// Compiles face-api's 68-point landmark nets (full and tiny) to ONNX.
import { GraphBuilder } from '../../onnx/writer.js';
import { NetBuilder, type Act } from './layers.js';
import type { WeightMap } from './weights.js';

/** Side of the square face crop the landmark nets take. */
export const LANDMARK_INPUT_SIZE = 112;

/** face-api's per-channel RGB mean for the feature extractors and the descriptor net. */
export const FACE_MEAN_RGB = [122.782, 117.001, 104.298] as const;

/**
 * One dense block of face-api's feature extractor: a strided entry conv, then separable convs each
 * fed the relu of the sum of every earlier output in the block. The sums are kept as one running
 * sum ((out1 + out2) + out3 …), not TF's nesting (out1 + (out2 + out3)): then every Add follows the
 * conv that makes its newest term, and onnxruntime folds it into that conv (its NCHWc Conv takes a
 * Sum input and a fused Relu). Profiled (onnxruntime 1.30, 4 faces, one thread): 20 Add and 12 Relu
 * nodes, 20% of the graph's time, became 0 Add and 8 Relu, 2% of it; the landmarks moved by at
 * most 1.8e-7 of the crop (2e-5 px), float rounding.
 */
function denseBlock(n: NetBuilder, weights: WeightMap, x: Act, prefix: string, convs: number, first: boolean): Act {
  const sep = (input: Act, name: string, stride: number): Act =>
    n.separable(
      input,
      weights.get(`${prefix}/${name}/depthwise_filter`, 4),
      weights.get(`${prefix}/${name}/pointwise_filter`, 4),
      weights.get(`${prefix}/${name}/bias`, 1),
      stride,
    );
  const out1 = n.relu(
    first ? n.conv(x, weights.get(`${prefix}/conv0/filters`, 4), 2, 'same', { bias: weights.get(`${prefix}/conv0/bias`, 1).data }) : sep(x, 'conv0', 2),
  );
  let sum = out1;
  let input = out1;
  for (let i = 1; i < convs; i++) {
    sum = n.add(sum, sep(input, `conv${i}`, 1));
    input = n.relu(sum);
  }
  return input;
}

/**
 * The graph: `image` float32 [N, 112, 112, 3], RGB 0..255 (a face crop padded to a square and
 * resized); output `landmarks` [N, 136], interleaved x, y relative to the square input (0..1).
 */
export function compileLandmarks(weights: WeightMap, tiny: boolean): GraphBuilder {
  const g = new GraphBuilder(tiny ? 'face_landmark_68_tiny' : 'face_landmark_68');
  const n = new NetBuilder(g);
  let x = n.inputNhwc('image', LANDMARK_INPUT_SIZE);
  x = n.channelOp('Sub', x, FACE_MEAN_RGB);
  x = n.channelOp('Div', x, [255]);
  const blocks = tiny ? 3 : 4;
  for (let b = 0; b < blocks; b++) x = denseBlock(n, weights, x, `dense${b}`, tiny ? 3 : 4, b === 0);
  // 7x7 (full) or 14x14 (tiny) feature map pooled to 1x1, VALID as in face-api.
  x = n.pool('avg', x, tiny ? 14 : 7, 2);
  const features = n.flattenNhwc(x);
  const y = n.dense(features, weights.get('fc/weights', 2), weights.get('fc/bias', 1));
  g.node('Identity', [y], ['landmarks']);
  g.output('landmarks', 'float32', ['N', 136]);
  return g;
}
