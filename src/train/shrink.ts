// A photo's face shown small, as a TV shows it: scaled to N px high in a mid-grey 640×360 frame.
import sharp from 'sharp';
import type { FaceObservation } from '../vision/pipeline.js';
import type { Box, RgbImage } from '../vision/types.js';

/** The frame the shrunk photo is shown in: a 640×360 capture, a third of the sitcom's faces under 36 px. */
export const SHRINK_FRAME = { width: 640, height: 360 };
/** A face found within this fraction of the asked height from where the photo's face went is that face. */
const FOUND_WITHIN = 0.6;

/** The photo scaled so that `box` is `size` px high, its centre in the middle of a mid-grey frame. */
export async function shrunkInFrame(bytes: Uint8Array, box: Box, size: number): Promise<RgbImage> {
  const scale = size / box.height;
  const image = sharp(bytes).rotate();
  const meta = await image.metadata();
  // EXIF-rotated photos swap their sides; box is in the rotated photo's pixels.
  const turned = (meta.orientation ?? 1) >= 5;
  const width = Math.max(1, Math.round((turned ? meta.height! : meta.width!) * scale));
  const height = Math.max(1, Math.round((turned ? meta.width! : meta.height!) * scale));
  const { data } = await image.resize(width, height, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const { width: fw, height: fh } = SHRINK_FRAME;
  const frame = new Uint8Array(fw * fh * 3).fill(128);
  const dx = Math.round(fw / 2 - (box.x + box.width / 2) * scale);
  const dy = Math.round(fh / 2 - (box.y + box.height / 2) * scale);
  for (let y = Math.max(0, -dy); y < height && y + dy < fh; y++) {
    const x0 = Math.max(0, -dx);
    const x1 = Math.min(width, fw - dx);
    if (x1 <= x0) continue;
    frame.set(data.subarray((y * width + x0) * 3, (y * width + x1) * 3), ((y + dy) * fw + x0 + dx) * 3);
  }
  return { data: frame, width: fw, height: fh };
}

/** The photo's face among those found in its shrunk frame: the first found within reach of the middle, if any. */
export function faceInMiddle(found: readonly FaceObservation[], size: number): FaceObservation | undefined {
  const { width, height } = SHRINK_FRAME;
  return found.find((f) => Math.hypot(f.box.x + f.box.width / 2 - width / 2, f.box.y + f.box.height / 2 - height / 2) <= FOUND_WITHIN * size);
}
