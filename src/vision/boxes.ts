// Box geometry shared by detection, tiles, tracking and scoring.
import type { Box, Detection } from './types.js';

/** The area two boxes share (0 when they do not touch). */
export function intersection(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/** Intersection over union. */
export function iou(a: Box, b: Box): number {
  const inter = intersection(a, b);
  return inter === 0 ? 0 : inter / (a.width * a.height + b.width * b.height - inter);
}

/** Heights within a factor 1.5 of each other: one face over a fraction of a second (a walk, a zoom), not a face and one twice as far away. */
export function similarSize(a: Box, b: Box): boolean {
  const ratio = b.height / Math.max(1, a.height);
  return ratio >= 2 / 3 && ratio <= 3 / 2;
}

/** The distance between two boxes' centres, in pixels. */
export function centreDistance(a: Box, b: Box): number {
  return Math.hypot(a.x + a.width / 2 - b.x - b.width / 2, a.y + a.height / 2 - b.y - b.height / 2);
}

/**
 * Greedy non-maximum suppression: best score first, a detection kept unless `same` says it is a
 * face already kept; at most `max`.
 */
export function suppress(detections: readonly Detection[], same: (kept: Box, candidate: Box) => boolean, max = Infinity): Detection[] {
  const kept: Detection[] = [];
  for (const d of [...detections].sort((a, b) => b.score - a.score)) {
    if (kept.length >= max) break;
    if (!kept.some((k) => same(k.box, d.box))) kept.push(d);
  }
  return kept;
}
