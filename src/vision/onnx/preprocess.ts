// face-api's input preparation (crop, pad to square, bilinear resize) as plain loops into NHWC floats.
import type { Box, RgbImage } from '../types.js';

/** A whole-pixel rectangle inside an image. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** How a region was placed in the square network input: side of the square, zero padding before. */
export interface SquarePlacement {
  side: number;
  padX: number;
  padY: number;
}

/** face-api's Box.clipAtImageBorders: clip to the image, then floor every field. */
export function clipRegion(box: Box, width: number, height: number): Region {
  const x = Math.max(box.x, 0);
  const y = Math.max(box.y, 0);
  const w = Math.min(box.x + box.width - x, width - x);
  const h = Math.min(box.y + box.height - y, height - y);
  return { x: Math.floor(x), y: Math.floor(y), width: Math.floor(w), height: Math.floor(h) };
}

/**
 * face-api's padToSquare: zeros on the short axis, all at the end (`centered` false, the detector) or
 * split with round(diff / 2) after and the rest before (`centered` true, landmarks and descriptors).
 */
export function placeSquare(width: number, height: number, centered: boolean): SquarePlacement {
  const side = Math.max(width, height);
  const diff = Math.abs(width - height);
  const before = centered ? diff - Math.round(diff * 0.5) : 0;
  return { side, padX: width < height ? before : 0, padY: height < width ? before : 0 };
}

/**
 * Writes `region` of `image`, padded to a square and resized to size×size, as float32 RGB (0..255)
 * at `out[offset…]`. The resize is TF's resizeBilinear without align_corners or half-pixel centers,
 * computed in float32 like TensorFlow.js, and skipped when the square already has the right size.
 */
export function writeSquare(image: RgbImage, region: Region, size: number, centered: boolean, out: Float32Array, offset: number): SquarePlacement {
  const place = placeSquare(region.width, region.height, centered);
  const { side, padX, padY } = place;
  const src = image.data;
  // Byte offset of square column/row `i` in the source image, or -1 inside the zero padding.
  const colAt = (i: number): number => {
    const rx = i - padX;
    return rx < 0 || rx >= region.width ? -1 : (region.x + rx) * 3;
  };
  const rowAt = (i: number): number => {
    const ry = i - padY;
    return ry < 0 || ry >= region.height ? -1 : (region.y + ry) * image.width * 3;
  };
  const px = (row: number, col: number, ch: number): number => (row < 0 || col < 0 ? 0 : src[row + col + ch]!);
  if (side === size) {
    for (let y = 0; y < size; y++) {
      const row = rowAt(y);
      for (let x = 0; x < size; x++) {
        const col = colAt(x);
        const o = offset + (y * size + x) * 3;
        for (let ch = 0; ch < 3; ch++) out[o + ch] = px(row, col, ch);
      }
    }
    return place;
  }
  const f = Math.fround;
  const scale = f(side / size);
  const c0 = new Int32Array(size),
    c1 = new Int32Array(size),
    fxs = new Float32Array(size);
  for (let x = 0; x < size; x++) {
    const sx = f(scale * x);
    const x0 = Math.floor(sx);
    c0[x] = colAt(x0);
    c1[x] = colAt(Math.min(side - 1, Math.ceil(sx)));
    fxs[x] = sx - x0;
  }
  for (let y = 0; y < size; y++) {
    const sy = f(scale * y);
    const y0 = Math.floor(sy);
    const r0 = rowAt(y0);
    const r1 = rowAt(Math.min(side - 1, Math.ceil(sy)));
    const fy = f(sy - y0);
    for (let x = 0; x < size; x++) {
      const a = c0[x]!,
        b = c1[x]!,
        fx = fxs[x]!;
      const o = offset + (y * size + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const tl = px(r0, a, ch),
          tr = px(r0, b, ch),
          bl = px(r1, a, ch),
          br = px(r1, b, ch);
        const top = f(tl + f(f(tr - tl) * fx));
        const bottom = f(bl + f(f(br - bl) * fx));
        out[o + ch] = f(top + f(f(bottom - top) * fy));
      }
    }
  }
  return place;
}
