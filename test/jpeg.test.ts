// The thumbnails' JPEG encoder: files that sharp (libjpeg) reads back as the pixels written.
import sharp from 'sharp';
import t from 'tap';
import { AC_HUFFMAN_SYMBOLS, smallJpeg } from '../src/util/jpeg.js';

t.test('the AC Huffman table holds every symbol a block can need, each once', async (t) => {
  const wanted = [0x00, 0xf0];
  for (let run = 0; run < 16; run++) for (let size = 1; size <= 10; size++) wanted.push((run << 4) | size);
  t.same(
    [...AC_HUFFMAN_SYMBOLS].sort((a, b) => a - b),
    wanted.sort((a, b) => a - b),
  );
});

/** Mean absolute difference per channel value between two packed RGB images. */
function meanError(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

t.test('an image of any size, smooth or noisy, decodes to nearly its own pixels', async (t) => {
  for (const [width, height] of [
    [64, 64],
    [37, 21],
    [8, 8],
    [1, 1],
  ] as const) {
    const smooth = new Uint8Array(width * height * 3).map((_, i) => {
      const p = Math.floor(i / 3);
      return [(p % width) * 3, Math.floor(p / width) * 5, 128][i % 3]! % 256;
    });
    // Noise uses long AC runs and large coefficients: every part of the Huffman coding.
    let seed = 7;
    const noise = new Uint8Array(width * height * 3).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
    for (const [name, pixels, quality, bound] of [
      ['smooth', smooth, 80, 3],
      ['noise', noise, 95, 6],
    ] as const) {
      const jpeg = smallJpeg(pixels, width, height, quality);
      const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
      t.same([info.width, info.height, info.channels], [width, height, 3], `${name} ${width}×${height}: its size`);
      const error = meanError(pixels, data);
      t.ok(error < bound, `${name} ${width}×${height} at quality ${quality}: mean error ${error.toFixed(2)} < ${bound}`);
    }
  }
});

t.test('a lower quality makes a smaller file', async (t) => {
  let seed = 3;
  const noise = new Uint8Array(32 * 32 * 3).map(() => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  t.ok(smallJpeg(noise, 32, 32, 30).length < smallJpeg(noise, 32, 32, 90).length);
});
