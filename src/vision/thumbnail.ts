// A small JPEG of one face, as a data URL: what the web page shows for faces to enroll and strangers.
import { smallJpeg } from '../util/jpeg.js';
import type { Box, RgbImage } from './types.js';

/** Room around the detector's box, so that a thumbnail shows the head, not just the eyes and mouth. */
const MARGIN = 1.4;
/** JPEG quality, as sharp's thumbnails had. */
const QUALITY = 80;

/**
 * A square crop centred on `box`, `MARGIN` times its larger side (clamped to the image), scaled to
 * `size` pixels, each the mean of the crop's pixels under it (not the face chips' warpChip, which
 * reads black past the image and darkened the edge row of a face at the frame's top). A data URL
 * needs no route of its own and no API key in an `<img>`. Shrunk and encoded here (util/jpeg.ts),
 * not by sharp: a daemon whose cameras meet strangers then never loads libvips (see sharp.ts). JPEG
 * rather than a PNG, which node's zlib could write: a 64 px face is a data URL of about 2.4 KB
 * against 12 KB, and unknowns.maxFaces (2000) keeps one per face. (jpeg-js took 100 ms a thumbnail,
 * building its tables on every call.)
 */
export async function faceThumbnail(image: RgbImage, box: Box, size = 96): Promise<string> {
  const side = Math.max(2, Math.min(image.width, image.height, Math.round(Math.max(box.width, box.height) * MARGIN)));
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const left = Math.round(Math.min(Math.max(0, cx - side / 2), image.width - side));
  const top = Math.round(Math.min(Math.max(0, cy - side / 2), image.height - side));
  const out = new Uint8Array(size * size * 3);
  // The crop's pixels [from, to) under output pixel i along one axis: at least one.
  const span = (i: number): [number, number] => {
    const from = Math.floor((i * side) / size);
    return [from, Math.max(from + 1, Math.floor(((i + 1) * side) / size))];
  };
  for (let y = 0; y < size; y++) {
    const [y0, y1] = span(y);
    for (let x = 0; x < size; x++) {
      const [x0, x1] = span(x);
      let r = 0;
      let g = 0;
      let b = 0;
      for (let sy = y0; sy < y1; sy++) {
        for (let sx = x0, o = ((top + sy) * image.width + left + x0) * 3; sx < x1; sx++, o += 3) {
          r += image.data[o]!;
          g += image.data[o + 1]!;
          b += image.data[o + 2]!;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const o = (y * size + x) * 3;
      out[o] = Math.round(r / n);
      out[o + 1] = Math.round(g / n);
      out[o + 2] = Math.round(b / n);
    }
  }
  return `data:image/jpeg;base64,${smallJpeg(out, size, size, QUALITY).toString('base64')}`;
}
