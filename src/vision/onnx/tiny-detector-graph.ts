// Compiles face-api's Tiny Face Detector (a Tiny-YOLOv2 with separable convs) to ONNX.
import { GraphBuilder } from '../../onnx/writer.js';
import { NetBuilder, type Act } from './layers.js';
import type { WeightMap } from './weights.js';

/** face-api's TinyFaceDetectorOptions default; must be a multiple of 32. */
export const TINY_DEFAULT_INPUT_SIZE = 416;

/** Anchor sizes in grid cells, from face-api's tinyFaceDetector/const.ts. */
export const TINY_ANCHORS: readonly { x: number; y: number }[] = [
  { x: 1.603231, y: 2.094468 },
  { x: 6.041143, y: 7.080126 },
  { x: 2.882459, y: 3.518061 },
  { x: 4.266906, y: 5.178857 },
  { x: 9.041765, y: 10.66308 },
];

const TINY_MEAN_RGB = [117.001, 114.697, 97.404];

// face-api's leaky relu slope, a float32 literal in its source.
const LEAKY_ALPHA = 0.10000000149011612;

/**
 * The graph: `image` uint8 [1, H, W, 3], packed RGB of any size (padded to a square at the end, as
 * the detector's input is not centered, and resized in-graph); output `grid` [N, cells*cells*5, 5]: per cell (row-major) and
 * anchor, the raw (tx, ty, tw, th, score logit) that {@link decodeTiny} turns into boxes.
 */
export function compileTinyDetector(weights: WeightMap, inputSize = TINY_DEFAULT_INPUT_SIZE): GraphBuilder {
  if (inputSize % 32 !== 0) throw new Error(`tiny face detector: input size ${inputSize} is not a multiple of 32`);
  const g = new GraphBuilder('tiny_face_detector');
  const n = new NetBuilder(g);
  let x = n.inputImage('image', inputSize);
  x = n.channelOp('Sub', x, TINY_MEAN_RGB);
  x = n.channelOp('Div', x, [255]);

  // face-api pads by one on every side then convolves VALID: for 3x3 stride 1 that is SAME.
  const sep = (input: Act, prefix: string): Act =>
    n.leakyRelu(
      n.separable(input, weights.get(`${prefix}/depthwise_filter`, 4), weights.get(`${prefix}/pointwise_filter`, 4), weights.get(`${prefix}/bias`, 1), 1),
      LEAKY_ALPHA,
    );

  x = n.leakyRelu(n.conv(x, weights.get('conv0/filters', 4), 1, 'valid', { bias: weights.get('conv0/bias', 1).data }), LEAKY_ALPHA);
  x = n.pool('max', x, 2, 2, 'same');
  for (let i = 1; i <= 5; i++) {
    x = sep(x, `conv${i}`);
    x = n.pool('max', x, 2, i === 5 ? 1 : 2, 'same');
  }
  for (const i of [6, 7]) if (weights.has(`conv${i}/bias`)) x = sep(x, `conv${i}`);
  x = n.conv(x, weights.get('conv8/filters', 4), 1, 'valid', { bias: weights.get('conv8/bias', 1).data });
  g.node('Identity', [n.flattenNhwc(x, 5)], ['grid']);
  g.output('grid', 'float32', ['N', 'B', 5]);
  return g;
}

/** A raw tiny-detector box, relative to the network input (0..1 of the square). */
export interface TinyCandidate {
  x: number;
  y: number;
  right: number;
  bottom: number;
  score: number;
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * face-api's TinyYolov2Base.extractBoxes for one image: candidates scoring above the threshold, with
 * the correction factors that undo the square padding (inputSize / reshaped width and height).
 */
export function decodeTiny(
  grid: Float32Array,
  offset: number,
  cells: number,
  scoreThreshold: number,
  correctionX: number,
  correctionY: number,
): TinyCandidate[] {
  const out: TinyCandidate[] = [];
  const anchors = TINY_ANCHORS.length;
  for (let row = 0; row < cells; row++)
    for (let col = 0; col < cells; col++)
      for (let a = 0; a < anchors; a++) {
        const at = offset + ((row * cells + col) * anchors + a) * 5;
        const score = sigmoid(grid[at + 4]!);
        if (scoreThreshold && !(score > scoreThreshold)) continue;
        const anchor = TINY_ANCHORS[a]!;
        const ctX = ((col + sigmoid(grid[at]!)) / cells) * correctionX;
        const ctY = ((row + sigmoid(grid[at + 1]!)) / cells) * correctionY;
        const w = ((Math.exp(grid[at + 2]!) * anchor.x) / cells) * correctionX;
        const h = ((Math.exp(grid[at + 3]!) * anchor.y) / cells) * correctionY;
        const x = ctX - w / 2;
        const y = ctY - h / 2;
        out.push({ x, y, right: x + w, bottom: y + h, score });
      }
  return out;
}
