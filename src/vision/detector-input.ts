// Shrinks a large image before detection: the float detectors pad and convert their whole input to floats.
import type { Detection, RgbImage } from './types.js';

/**
 * Long side above which an image is averaged down before detection. The detectors resize to 512
 * (SSD) or 416 (Tiny) anyway, but on float copies of the whole input: about 54 bytes per input
 * pixel in the float ONNX graphs (the int8 SSD pads and resizes bytes), so a 2000×2000 photo with its retry border (4000×4000) took 870 MB of
 * RSS (issue 16). Twice the SSD input keeps the faces: the accuracy and starter tests named as many
 * with it. Both backends do it, so that they still see the same pixels.
 */
export const DETECTOR_MAX_SIDE = 1024;

/**
 * The most pixels an image keeps in full for a pass that sees it larger than DETECTOR_MAX_SIDE (the
 * second look): a 1920×1080 frame, about 50 MB of float copies in a float graph for the moment of
 * the pass (the int8 SSD, which takes the second look by default, pads and resizes its bytes).
 */
export const FULL_DETAIL_PIXELS = 1920 * 1080;

/**
 * `image` averaged over `scale`×`scale` blocks (a whole-number factor, so that every output pixel is
 * the mean of the same number of inputs) until its long side is at most `maxSide`; boxes found in
 * the result are multiplied by `scale`. Unchanged, with scale 1, when already small enough. An image
 * of at most FULL_DETAIL_PIXELS is never made smaller than `atLeast` on its long side (the side the
 * network will see it at): a pass that enlarges it, the second look, would otherwise enlarge blur
 * (a 1280×720 frame's look at 1024×576 would be its 640×360 average enlarged).
 */
export function reduceForDetector(image: RgbImage, maxSide = DETECTOR_MAX_SIDE, atLeast = 0): { image: RgbImage; scale: number } {
  const { width, height, data } = image;
  const long = Math.max(width, height);
  const floor = width * height <= FULL_DETAIL_PIXELS ? Math.max(1, Math.floor(long / atLeast)) : Infinity;
  const scale = Math.min(Math.ceil(long / maxSide), floor);
  if (scale <= 1) return { image, scale: 1 };
  const w = Math.floor(width / scale);
  const h = Math.floor(height / scale);
  const out = new Uint8Array(w * h * 3);
  const sums = new Uint32Array(w * 3);
  const area = scale * scale;
  for (let y = 0; y < h; y++) {
    sums.fill(0);
    for (let dy = 0; dy < scale; dy++) {
      const row = (y * scale + dy) * width * 3;
      for (let x = 0; x < w; x++) {
        let r = 0,
          g = 0,
          b = 0;
        for (let dx = 0, i = row + x * scale * 3; dx < scale; dx++, i += 3) {
          r += data[i]!;
          g += data[i + 1]!;
          b += data[i + 2]!;
        }
        sums[x * 3] = sums[x * 3]! + r;
        sums[x * 3 + 1] = sums[x * 3 + 1]! + g;
        sums[x * 3 + 2] = sums[x * 3 + 2]! + b;
      }
    }
    const o = y * w * 3;
    for (let k = 0; k < w * 3; k++) out[o + k] = Math.round(sums[k]! / area);
  }
  return { image: { data: out, width: w, height: h }, scale };
}

/** Detects on `image` reduced by {@link reduceForDetector}, with the boxes back in `image`'s pixels. */
export async function detectReduced(image: RgbImage, detect: (input: RgbImage) => Promise<Detection[]>): Promise<Detection[]> {
  const reduced = reduceForDetector(image);
  const found = await detect(reduced.image);
  const k = reduced.scale;
  return k === 1 ? found : found.map((d) => ({ ...d, box: { x: d.box.x * k, y: d.box.y * k, width: d.box.width * k, height: d.box.height * k } }));
}
