// The picture inside a video frame's black bars: what the second look for small faces needs to see.
import t from 'tap';
import { pictureRegion } from '../src/vision/picture.js';
import { cropImage } from '../src/vision/tiles.js';
import type { RgbImage } from '../src/vision/types.js';

/** A frame of black bars (values 0–9, as compression leaves them) around a busy picture. */
function framed(width: number, height: number, picture: { x: number; y: number; width: number; height: number }): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let seed = 7;
  const noise = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const inside = x >= picture.x && x < picture.x + picture.width && y >= picture.y && y < picture.y + picture.height;
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = inside ? 30 + (noise() % 200) : noise() % 10;
    }
  return { data, width, height };
}

t.test('a letterboxed film: the rows between the bars, two rows of margin', async (t) => {
  const frame = framed(854, 480, { x: 0, y: 62, width: 854, height: 356 });
  t.same(pictureRegion(frame), { x: 0, y: 60, width: 854, height: 360 });
});

t.test('a pillarboxed 4:3 show: the columns between the bars', async (t) => {
  const frame = framed(854, 480, { x: 107, y: 0, width: 640, height: 480 });
  t.same(pictureRegion(frame), { x: 105, y: 0, width: 644, height: 480 });
});

t.test('bars on all four sides (a windowbox)', async (t) => {
  const frame = framed(640, 360, { x: 40, y: 30, width: 560, height: 300 });
  t.same(pictureRegion(frame), { x: 38, y: 28, width: 564, height: 304 });
});

t.test('nothing cut where it would not pay or could be wrong', async (t) => {
  const whole = { x: 0, y: 0, width: 640, height: 360 };
  t.same(pictureRegion(framed(640, 360, { x: 0, y: 6, width: 640, height: 348 })), whole, 'bars of 3% of the height: left');
  t.same(pictureRegion(framed(640, 360, { x: 0, y: 0, width: 640, height: 360 })), whole, 'no bars');
  t.same(pictureRegion(framed(640, 360, { x: 0, y: 0, width: 0, height: 0 })), whole, 'a black frame (a fade): nothing to go by');
  t.same(pictureRegion(framed(640, 360, { x: 0, y: 200, width: 640, height: 20 })), whole, 'more than half of it black: a dark scene, not bars');
});

t.test('a subtitle in the bottom bar stops the cut above it: nothing lit is left out', async (t) => {
  const frame = framed(854, 480, { x: 0, y: 62, width: 854, height: 356 });
  for (let x = 300; x < 500; x++) frame.data.fill(235, (450 * 854 + x) * 3, (450 * 854 + x) * 3 + 3);
  t.same(pictureRegion(frame), { x: 0, y: 60, width: 854, height: 393 }, 'down to the subtitle row 450, and two rows more');
});

t.test('the region`s pixels: a view of whole rows, a copy otherwise', async (t) => {
  const frame = framed(64, 32, { x: 0, y: 8, width: 64, height: 16 });
  const rows = cropImage(frame, { x: 0, y: 8, width: 64, height: 16 });
  t.equal(rows.data.buffer, frame.data.buffer, 'whole rows: no copy');
  t.same([rows.width, rows.height, rows.data[0]], [64, 16, frame.data[8 * 64 * 3]]);
  const box = cropImage(frame, { x: 4, y: 10, width: 8, height: 4 });
  t.not(box.data.buffer, frame.data.buffer, 'part of each row: copied');
  t.same([box.width, box.height, box.data.length], [8, 4, 8 * 4 * 3]);
  t.equal(box.data[3 * (8 + 2)], frame.data[(11 * 64 + 6) * 3], 'pixel (2, 1) of the region is (6, 11) of the frame');
});
