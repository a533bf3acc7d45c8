// face-api's detector post-processing (candidate filtering, NMS, box scaling) over ONNX outputs.
import type { Detection } from '../types.js';
import type { TinyCandidate } from './tiny-detector-graph.js';

/** face-api's computeReshapedDimensions: the image scaled so that its long side is `inputSize`. */
export function reshapedDims(width: number, height: number, inputSize: number): { width: number; height: number } {
  const scale = inputSize / Math.max(width, height);
  return { width: Math.round(width * scale), height: Math.round(height * scale) };
}

/** face-api's SSD IOU: boxes (ymin, xmin, ymax, xmax), corners normalised, zero for empty boxes. */
function ssdIou(b: Float32Array, i: number, j: number): number {
  const [ai, aj] = [i * 4, j * 4];
  const yminI = Math.min(b[ai]!, b[ai + 2]!),
    xminI = Math.min(b[ai + 1]!, b[ai + 3]!);
  const ymaxI = Math.max(b[ai]!, b[ai + 2]!),
    xmaxI = Math.max(b[ai + 1]!, b[ai + 3]!);
  const yminJ = Math.min(b[aj]!, b[aj + 2]!),
    xminJ = Math.min(b[aj + 1]!, b[aj + 3]!);
  const ymaxJ = Math.max(b[aj]!, b[aj + 2]!),
    xmaxJ = Math.max(b[aj + 1]!, b[aj + 3]!);
  const areaI = (ymaxI - yminI) * (xmaxI - xminI);
  const areaJ = (ymaxJ - yminJ) * (xmaxJ - xminJ);
  if (areaI <= 0 || areaJ <= 0) return 0;
  const ih = Math.max(Math.min(ymaxI, ymaxJ) - Math.max(yminI, yminJ), 0);
  const iw = Math.max(Math.min(xmaxI, xmaxJ) - Math.max(xminI, xminJ), 0);
  const inter = ih * iw;
  return inter / (areaI + areaJ - inter);
}

/**
 * SsdMobilenetv1.locateFaces after the network: greedy NMS at IOU 0.5 exactly as face-api runs it
 * (candidates strictly above minScore, best first, at most maxFaces); the anchors' indices.
 */
function ssdNms(boxes: Float32Array, scores: Float32Array, minScore: number, maxFaces: number): number[] {
  const candidates: { score: number; index: number }[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i]! > minScore) candidates.push({ score: scores[i]!, index: i });
  candidates.sort((a, b) => b.score - a.score);
  const limit = Math.min(maxFaces, scores.length);
  const selected: number[] = [];
  for (const c of candidates) {
    if (selected.length >= limit) break;
    let suppressed = false;
    for (let j = selected.length - 1; j >= 0; j--) {
      const iou = ssdIou(boxes, c.index, selected[j]!);
      if (iou === 0) continue;
      if (iou > 0.5) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) selected.push(c.index);
  }
  return selected;
}

/** face-api's detections on its square: {@link ssdNms}, then boxes clipped to the square and scaled to image pixels. */
export function selectSsd(
  boxes: Float32Array,
  scores: Float32Array,
  image: { width: number; height: number },
  inputSize: number,
  minScore: number,
  maxFaces: number,
): Detection[] {
  const reshaped = reshapedDims(image.width, image.height, inputSize);
  const padX = inputSize / reshaped.width;
  const padY = inputSize / reshaped.height;
  return ssdNms(boxes, scores, minScore, maxFaces).map((i) => {
    const top = Math.max(0, boxes[i * 4]!) * padY;
    const bottom = Math.min(1, boxes[i * 4 + 2]!) * padY;
    const left = Math.max(0, boxes[i * 4 + 1]!) * padX;
    const right = Math.min(1, boxes[i * 4 + 3]!) * padX;
    return {
      score: scores[i]!,
      box: { x: left * image.width, y: top * image.height, width: (right - left) * image.width, height: (bottom - top) * image.height },
    };
  });
}

/** Detections of the SSD pass over a whole image at its own aspect (no padding): boxes relative to the image, clipped to it. */
export function selectSsdFrame(
  boxes: Float32Array,
  scores: Float32Array,
  image: { width: number; height: number },
  minScore: number,
  maxFaces: number,
): Detection[] {
  const clip = (v: number): number => Math.min(1, Math.max(0, v));
  return ssdNms(boxes, scores, minScore, maxFaces).map((i) => {
    const [top, left, bottom, right] = [0, 1, 2, 3].map((k) => clip(boxes[i * 4 + k]!)) as [number, number, number, number];
    return {
      score: scores[i]!,
      box: { x: left * image.width, y: top * image.height, width: (right - left) * image.width, height: (bottom - top) * image.height },
    };
  });
}

/**
 * TinyYolov2Base.detect after extractBoxes: face-api's NMS (IOU over boxes scaled to the input size,
 * threshold 0.4 for faces), then relative boxes scaled to image pixels. Best first.
 */
export function selectTiny(candidates: TinyCandidate[], image: { width: number; height: number }, inputSize: number, iouThreshold = 0.4): Detection[] {
  const area = (c: TinyCandidate): number => (c.right - c.x) * inputSize * (c.bottom - c.y) * inputSize;
  const iou = (a: TinyCandidate, b: TinyCandidate): number => {
    const w = Math.max(0, Math.min(a.right, b.right) * inputSize - Math.max(a.x, b.x) * inputSize);
    const h = Math.max(0, Math.min(a.bottom, b.bottom) * inputSize - Math.max(a.y, b.y) * inputSize);
    const inter = w * h;
    return inter / (area(a) + area(b) - inter);
  };
  // Ascending, popped from the end, as in face-api's ops/nonMaxSuppression.
  let order = candidates
    .map((c, i) => ({ score: c.score, i }))
    .sort((a, b) => a.score - b.score)
    .map((c) => c.i);
  const pick: number[] = [];
  while (order.length > 0) {
    const curr = order.pop()!;
    pick.push(curr);
    order = order.filter((i) => iou(candidates[curr]!, candidates[i]!) <= iouThreshold);
  }
  return pick.map((i) => {
    const c = candidates[i]!;
    return {
      score: c.score,
      box: { x: c.x * image.width, y: c.y * image.height, width: (c.right - c.x) * image.width, height: (c.bottom - c.y) * image.height },
    };
  });
}
