// BlazeFace's raw outputs (blazeface-graph.ts) to faces in image pixels: anchors, decoding, NMS, and SSD-shaped boxes.
import { iou, suppress } from '../boxes.js';
import type { Detection } from '../types.js';
import { BLAZEFACE_GRIDS } from './blazeface-graph.js';

/** Overlap above which the weaker of two boxes is the same face. */
const NMS_IOU = 0.3;

/**
 * BlazeFace's box is a tight square around eyes, nose and mouth; face-api's SSD, whose box the
 * landmark net was trained on, draws a taller one reaching the chin and brow. A BlazeFace box is
 * mapped to the SSD's shape around the same face: centre moved by `dy` of its side (negative: up),
 * width and height `w` and `h` times its side. Medians over the 128 faces both detectors found in
 * the seven videos of the datasets at one frame a second (docs/pipeline.md).
 */
export const SSD_SHAPE = { dy: -0.12, w: 0.95, h: 1.19 };

/** Where BlazeFace's network input sat in the image: padded to padH×padW, then resized to netH×netW. */
export interface BlazeLayout {
  padH: number;
  padW: number;
  netH: number;
  netW: number;
}

/**
 * Faces from the four outputs (scores and raw boxes of each grid), best first, at most `maxFaces`:
 * a box's centre is its anchor cell's centre plus the regressed offset, in network pixels, scaled
 * back to the image; greedy NMS at IoU 0.3.
 */
export function selectBlazeFace(
  outputs: { scores: Float32Array; boxes: Float32Array }[],
  layout: BlazeLayout,
  image: { width: number; height: number },
  minScore: number,
  maxFaces: number,
): Detection[] {
  const sx = layout.padW / layout.netW;
  const sy = layout.padH / layout.netH;
  const found: Detection[] = [];
  BLAZEFACE_GRIDS.forEach(({ stride, anchors }, g) => {
    const { scores, boxes } = outputs[g]!;
    const cols = Math.ceil(layout.netW / stride);
    for (let i = 0; i < scores.length; i++) {
      const score = scores[i]!;
      if (!(score > minScore)) continue;
      const cell = Math.floor(i / anchors);
      const r = i * 16;
      const cx = ((cell % cols) + 0.5) * stride + boxes[r]!;
      const cy = (Math.floor(cell / cols) + 0.5) * stride + boxes[r + 1]!;
      const side = Math.max(boxes[r + 2]! * sx, boxes[r + 3]! * sy);
      if (!(side > 0)) continue;
      // The SSD-shaped box around the same face, in image pixels, clipped to the image.
      const [x0, x1] = [cx * sx - (side * SSD_SHAPE.w) / 2, cx * sx + (side * SSD_SHAPE.w) / 2];
      const [y0, y1] = [cy * sy + SSD_SHAPE.dy * side - (side * SSD_SHAPE.h) / 2, cy * sy + SSD_SHAPE.dy * side + (side * SSD_SHAPE.h) / 2];
      const x = Math.max(0, x0);
      const y = Math.max(0, y0);
      const box = { x, y, width: Math.min(image.width, x1) - x, height: Math.min(image.height, y1) - y };
      if (box.width > 0 && box.height > 0) found.push({ box, score });
    }
  });
  return suppress(found, (kept, box) => iou(kept, box) > NMS_IOU, maxFaces);
}
