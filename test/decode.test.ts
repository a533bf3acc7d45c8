// Decoding: the three formats, EXIF orientation, greyscale, and every kind of bad input refused.
import sharp from 'sharp';
import t from 'tap';
import { isRecognizerError } from '../src/errors.js';
import { decodeImage } from '../src/vision/decode.js';
import { hugeBlankPng } from './helpers/images.js';

const LIMIT = { maxPixels: 40_000_000 };

async function gradient(width: number, height: number) {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([x % 256, y % 256, 77], (y * width + x) * 3);
  return sharp(data, { raw: { width, height, channels: 3 } });
}

t.test('JPEG, PNG and WebP decode to packed RGB', async (t) => {
  for (const format of ['jpeg', 'png', 'webp'] as const) {
    const bytes = await (await gradient(64, 32)).toFormat(format).toBuffer();
    const image = await decodeImage(bytes, LIMIT);
    t.same([image.width, image.height, image.data.length], [64, 32, 64 * 32 * 3], format);
  }
});

t.test('EXIF orientation is applied', async (t) => {
  // Orientation 6: the stored 64×32 pixels are shown rotated 90° clockwise, as 32×64.
  const bytes = await (await gradient(64, 32)).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const image = await decodeImage(bytes, LIMIT);
  t.same([image.width, image.height], [32, 64]);
});

t.test('greyscale and alpha become three channels', async (t) => {
  const grey = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#808080' } })
    .greyscale()
    .png()
    .toBuffer();
  const rgba = await sharp({ create: { width: 10, height: 10, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.5 } } })
    .png()
    .toBuffer();
  for (const bytes of [grey, rgba]) t.equal((await decodeImage(bytes, LIMIT)).data.length, 300);
});

async function refusal(bytes: Uint8Array): Promise<string | undefined> {
  try {
    await decodeImage(bytes, LIMIT);
    return undefined;
  } catch (err) {
    return isRecognizerError(err) ? err.code : `not a RecognizerError: ${String(err)}`;
  }
}

t.test('bad input is refused with a code, never a crash', async (t) => {
  const jpeg = await (await gradient(200, 200)).jpeg().toBuffer();
  t.equal(await refusal(Buffer.alloc(0)), 'IMAGE_INVALID', 'empty');
  t.equal(await refusal(Buffer.from('just some text\n')), 'IMAGE_INVALID', 'text');
  t.equal(await refusal(jpeg.subarray(0, jpeg.length / 2)), 'IMAGE_INVALID', 'truncated JPEG');
  const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } })
    .gif()
    .toBuffer();
  t.equal(await refusal(gif), 'IMAGE_UNSUPPORTED', 'GIF');
  t.equal(await refusal(hugeBlankPng(20000)), 'IMAGE_TOO_LARGE', '20000×20000 PNG');
  const memory = process.memoryUsage().rss;
  t.ok(memory < 2e9, `memory stayed bounded (${Math.round(memory / 1e6)} MB)`);
});
