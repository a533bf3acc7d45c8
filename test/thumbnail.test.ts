// Face thumbnails: a JPEG of the head around the box, made without sharp, that sharp (and a browser) reads back.
import sharp, { type OutputInfo } from 'sharp';
import t, { type Test } from 'tap';
import { faceThumbnail } from '../src/vision/thumbnail.js';
import type { RgbImage } from '../src/vision/types.js';

/** A 200×120 frame: left half red, right half blue, a green square at (120, 40)–(160, 80). */
function frame(): RgbImage {
  const width = 200;
  const height = 120;
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const green = x >= 120 && x < 160 && y >= 40 && y < 80;
      data.set(green ? [0, 200, 0] : x < 100 ? [220, 10, 10] : [10, 10, 220], o);
    }
  }
  return { data, width, height };
}

async function decoded(url: string): Promise<{ data: Buffer; info: OutputInfo }> {
  t.match(url, /^data:image\/jpeg;base64,/, 'a JPEG data URL');
  return sharp(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'))
    .raw()
    .toBuffer({ resolveWithObject: true });
}

/** A pixel within JPEG's loss of `want` (each channel within 24 levels). */
function near(t: Test, got: number[], want: number[], message: string): void {
  t.ok(
    got.every((v, i) => Math.abs(v - want[i]!) <= 24),
    `${message}: ${got.join(',')} near ${want.join(',')}`,
  );
}

t.test('a thumbnail shows the face box with room around it, at the size asked for', async (t) => {
  const { data, info } = await decoded(await faceThumbnail(frame(), { x: 120, y: 40, width: 40, height: 40 }, 56));
  t.same([info.width, info.height, info.channels], [56, 56, 3], '56×56 RGB');
  const at = (x: number, y: number) => [...data.subarray((y * 56 + x) * 3, (y * 56 + x) * 3 + 3)];
  // The crop is 56 px (40 × 1.4) centred on the box: the box fills its middle 40 px.
  near(t, at(28, 28), [0, 200, 0], 'the box in the middle');
  near(t, at(2, 28), [10, 10, 220], 'the blue around it');
  near(t, at(10, 28), [0, 200, 0], 'the box starts 8 px in');
  near(t, at(5, 28), [10, 10, 220], 'blue before it');
});

t.test('a thumbnail averages the pixels it shrinks, and stays inside the image at its edges', async (t) => {
  // A box at the left edge: the crop (112 px) is moved inside, and shrunk 4 times.
  const { data, info } = await decoded(await faceThumbnail(frame(), { x: 0, y: 0, width: 80, height: 80 }, 28));
  t.same([info.width, info.height], [28, 28]);
  const at = (x: number) => [...data.subarray(x * 3, x * 3 + 3)];
  near(t, at(0), [220, 10, 10], 'red in the corner');
  // Column 26 covers x 104..107: blue; column 22 covers 88..91: red.
  near(t, at(26), [10, 10, 220], 'blue past the middle of the frame');
  near(t, at(22), [220, 10, 10], 'red before it');
  // Black and white columns one pixel wide, shrunk 2 times: grey, not one of the two.
  const stripes = new Uint8Array(64 * 64 * 3).map((_, i) => (Math.floor(i / 3) % 2 === 0 ? 0 : 250));
  const grey = await decoded(await faceThumbnail({ data: stripes, width: 64, height: 64 }, { x: 9, y: 9, width: 46, height: 46 }, 32));
  near(t, [...grey.data.subarray((16 * 32 + 16) * 3, (16 * 32 + 16) * 3 + 3)], [125, 125, 125], 'each pixel the mean of the pixels under it');
});
