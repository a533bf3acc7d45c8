// A small JPEG of one face, as a data URL: what the web page shows for faces to enroll and strangers.
import sharp from 'sharp';
import type { Box, RgbImage } from './types.js';

/** Room around the detector's box, so that a thumbnail shows the head, not just the eyes and mouth. */
const MARGIN = 1.4;

/**
 * A square crop centred on `box`, `MARGIN` times its larger side (clamped to the image), scaled to
 * `size` pixels. A data URL needs no route of its own and no API key in an `<img>`.
 */
export async function faceThumbnail(image: RgbImage, box: Box, size = 96): Promise<string> {
  const side = Math.max(2, Math.min(image.width, image.height, Math.round(Math.max(box.width, box.height) * MARGIN)));
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const left = Math.round(Math.min(Math.max(0, cx - side / 2), image.width - side));
  const top = Math.round(Math.min(Math.max(0, cy - side / 2), image.height - side));
  const jpeg = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left, top, width: side, height: side })
    .resize(size, size)
    .jpeg({ quality: 80 })
    .toBuffer();
  return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
}
