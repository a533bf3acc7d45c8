// The SSD face detector's anchors for any input size: TF Object Detection API's ssd_anchor_generator, as face-api's weights store them for 512×512.

/** The side of the square the network was trained on; anchor sizes are in its pixels. */
export const SSD_TRAINED_SIDE = 512;

/**
 * Anchors per feature map, as the TF Object Detection API's `create_ssd_anchors` (2017 version, which
 * puts the interpolated scale right after aspect ratio 1) made them for face-api's SSD MobileNet v1:
 * 6 layers, scales 0.2 to 0.95, aspect ratios (1, 2, 0.5, 3, 0.3333), the lowest layer reduced to
 * (0.1, 1), (0.2, 2), (0.2, 0.5). Proven against the stored 5118 anchors (`Output/extra_dim`) by
 * test/ssd-anchors.test.ts.
 */
const MIN_SCALE = 0.2;
const MAX_SCALE = 0.95;
const LAYERS = 6;
const ASPECT_RATIOS = [1.0, 2.0, 0.5, 3.0, 0.3333];

/**
 * √(aspect ratio) as tf.sqrt gave it when the anchors were made: Eigen computes float32 roots four
 * at a time (an approximate reciprocal root and one Newton step), which came out one unit in the
 * last place low for 1, 2 and 0.5, and the remainder that does not fill four exactly. So a layer's
 * first four anchors have these roots and the rest (and the 3 of the lowest layer) exact ones. With
 * exact roots everywhere, 3368 of the 20472 stored numbers differed by one unit; with these, none.
 */
const PACKET_SQRT = new Map([
  [1.0, 0.9999999403953552],
  [2.0, 1.4142134189605713],
  [0.5, 0.7071067094802856],
]);

function tfSqrt(value: number, index: number, count: number): number {
  const packed = index < count - (count % 4) ? PACKET_SQRT.get(value) : undefined;
  return packed ?? Math.fround(Math.sqrt(Math.fround(value)));
}

/** Strides (input pixels per cell) of the 6 feature maps: conv 11, conv 13 and the 4 extra layers. */
export const SSD_STRIDES = [16, 32, 64, 128, 256, 512] as const;

/**
 * (scale, aspect ratio) of each anchor of one cell, per layer: scales in float32, the interpolated
 * one the float32 root of two float32 scales' product (float64 arithmetic misses one stored value).
 */
function boxSpecs(): [number, number][][] {
  const f = Math.fround;
  const scales = Array.from({ length: LAYERS }, (_, i) => f(MIN_SCALE + ((MAX_SCALE - MIN_SCALE) * i) / (LAYERS - 1)));
  scales.push(1.0);
  return scales.slice(0, LAYERS).map((scale, layer) => {
    if (layer === 0)
      return [
        [0.1, 1.0],
        [scale, 2.0],
        [scale, 0.5],
      ] as [number, number][];
    const specs: [number, number][] = [];
    for (const ar of ASPECT_RATIOS) {
      specs.push([scale, ar]);
      if (ar === 1.0) specs.push([f(Math.sqrt(f(scale * scales[layer + 1]!))), 1.0]);
    }
    return specs;
  });
}

/**
 * The feature map sizes for an input of `height`×`width`: every stride-2 layer of the graph pads at
 * the end only (ssd-graph.ts), so each halving is ceil(n / 2), as TF's SAME padding gives on the
 * 512 square.
 */
export function ssdGrid(height: number, width: number): { h: number; w: number }[] {
  const half = (n: number): number => Math.ceil(n / 2);
  let h = height,
    w = width;
  const out: { h: number; w: number }[] = [];
  for (let i = 0; i < 4; i++) [h, w] = [half(h), half(w)];
  out.push({ h, w });
  for (let i = 0; i < 5; i++) {
    [h, w] = [half(h), half(w)];
    out.push({ h, w });
  }
  return out;
}

/**
 * Anchor corners (ymin, xmin, ymax, xmax), relative to an input of `height`×`width` pixels, in the
 * order of the graph's predictions (layer, row, column, box). Sizes and centres are in pixels of
 * the 512 square the network was trained on, so that a face of N pixels meets the same anchors
 * whatever the input's size; at 512×512 this is TF's float32 arithmetic (grid_anchor_generator's
 * tile_anchors: centre = j · stride + stride / 2, corners = centre ∓ size / 2), which reproduces the
 * stored anchors exactly.
 */
export function ssdAnchors(height: number, width: number): Float32Array {
  const f = Math.fround;
  const grid = ssdGrid(height, width);
  const specs = boxSpecs();
  const count = grid.reduce((s, g, l) => s + g.h * g.w * specs[l]!.length, 0);
  const out = new Float32Array(count * 4);
  let k = 0;
  grid.forEach((g, l) => {
    const boxes = specs[l]!.map(([scale, ar], i, all) => {
      const root = tfSqrt(ar, i, all.length);
      // Relative to the 512 square, then to this input's sides (exact at 512: the factor is 1).
      return { h: f(f(f(scale) / root) * f(SSD_TRAINED_SIDE / height)), w: f(f(f(scale) * root) * f(SSD_TRAINED_SIDE / width)) };
    });
    const strideY = f(SSD_STRIDES[l]! / height);
    const strideX = f(SSD_STRIDES[l]! / width);
    const [offY, offX] = [f(0.5 * strideY), f(0.5 * strideX)];
    for (let y = 0; y < g.h; y++) {
      const cy = f(f(y * strideY) + offY);
      for (let x = 0; x < g.w; x++) {
        const cx = f(f(x * strideX) + offX);
        for (const b of boxes) {
          const [hh, hw] = [f(0.5 * b.h), f(0.5 * b.w)];
          out[k++] = f(cy - hh);
          out[k++] = f(cx - hw);
          out[k++] = f(cy + hh);
          out[k++] = f(cx + hw);
        }
      }
    }
  });
  return out;
}

/** face-api's decodeBoxesLayer inputs: anchor centres and sizes [A, 2] (y, x), recomputed from the corners in float32 as TF does. */
export function anchorCentersAndSizes(corners: Float32Array): { center: Float32Array; size: Float32Array } {
  const f = Math.fround;
  const count = corners.length / 4;
  const size = new Float32Array(count * 2);
  const center = new Float32Array(count * 2);
  for (let i = 0; i < count; i++) {
    const [y0, x0, y1, x1] = [corners[i * 4]!, corners[i * 4 + 1]!, corners[i * 4 + 2]!, corners[i * 4 + 3]!];
    size[i * 2] = f(y1 - y0);
    size[i * 2 + 1] = f(x1 - x0);
    center[i * 2] = f(y0 + f(size[i * 2]! / 2));
    center[i * 2 + 1] = f(x0 + f(size[i * 2 + 1]! / 2));
  }
  return { center, size };
}
