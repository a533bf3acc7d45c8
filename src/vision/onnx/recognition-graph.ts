// Compiles face-api's face descriptor net (a dlib-style ResNet-34) to ONNX.
import { GraphBuilder } from '../../onnx/writer.js';
import { NetBuilder, type Act } from './layers.js';
import { FACE_MEAN_RGB } from './landmark-graph.js';
import type { WeightMap } from './weights.js';

/** Side of the square face chip the descriptor net takes. */
export const RECOGNITION_INPUT_SIZE = 150;

/**
 * The graph: `image` float32 [N, 150, 150, 3], RGB 0..255; output `descriptor` [N, 128]
 * (not normalized, exactly what face-api's computeFaceDescriptor returns).
 */
export function compileRecognition(weights: WeightMap): GraphBuilder {
  const g = new GraphBuilder('face_recognition');
  const n = new NetBuilder(g);

  // conv + bias, then face-api's scale layer (x * weights + biases), folded into the conv.
  const conv = (x: Act, prefix: string, stride: number, padding: 'same' | 'valid', relu: boolean): Act => {
    const y = n.conv(x, weights.get(`${prefix}/conv/filters`, 4), stride, padding, {
      bias: weights.get(`${prefix}/conv/bias`, 1).data,
      mul: weights.get(`${prefix}/scale/weights`, 1).data,
      add: weights.get(`${prefix}/scale/biases`, 1).data,
    });
    return relu ? n.relu(y) : y;
  };

  const residual = (x: Act, prefix: string): Act => {
    const out = conv(conv(x, `${prefix}/conv1`, 1, 'same', true), `${prefix}/conv2`, 1, 'same', false);
    return n.relu(n.add(out, x));
  };

  const residualDown = (x: Act, prefix: string): Act => {
    let out = conv(conv(x, `${prefix}/conv1`, 2, 'valid', true), `${prefix}/conv2`, 1, 'same', false);
    let pooled = n.pool('avg', x, 2, 2);
    // Where the VALID strided conv comes out one smaller than the pool, face-api appends a zero
    // row and column; where channels double, the shortcut gets zero channels appended.
    out = n.padEnd(out, 0, pooled.h - out.h, pooled.w - out.w);
    pooled = n.padEnd(pooled, out.c - pooled.c, 0, 0);
    return n.relu(n.add(pooled, out));
  };

  let x = n.inputNhwc('image', RECOGNITION_INPUT_SIZE);
  x = n.channelOp('Sub', x, FACE_MEAN_RGB);
  x = n.channelOp('Div', x, [255]);
  x = conv(x, 'conv32_down', 2, 'valid', true);
  x = n.pool('max', x, 3, 2);
  for (const name of ['conv32_1', 'conv32_2', 'conv32_3']) x = residual(x, name);
  x = residualDown(x, 'conv64_down');
  for (const name of ['conv64_1', 'conv64_2', 'conv64_3']) x = residual(x, name);
  x = residualDown(x, 'conv128_down');
  for (const name of ['conv128_1', 'conv128_2']) x = residual(x, name);
  x = residualDown(x, 'conv256_down');
  for (const name of ['conv256_1', 'conv256_2']) x = residual(x, name);
  x = residualDown(x, 'conv256_down_out');
  const pooled = g.op('GlobalAveragePool', [x.name]);
  const flat = g.op('Flatten', [pooled], { axis: 1 });
  const y = n.dense(flat, weights.get('fc', 2));
  g.node('Identity', [y], ['descriptor']);
  g.output('descriptor', 'float32', ['N', 128]);
  return g;
}
