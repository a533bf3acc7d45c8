// Alignment: the chip levels the eyes and sits where dlib's template puts it.
import t from 'tap';
import {
  addBorder,
  chipGeometry,
  cutChip,
  dlibChipTemplate,
  dlibChipTransform,
  eyesFromLandmarks,
  eyesOfAlignedCrop,
  geometryTransform,
  mirror,
  warpChip,
} from '../src/vision/align.js';
import type { Point, RgbImage } from '../src/vision/types.js';

function landmarksWithEyes(left: Point, right: Point): Point[] {
  const points: Point[] = Array.from({ length: 68 }, () => ({ x: 0, y: 0 }));
  for (let i = 36; i < 42; i++) points[i] = { ...left };
  for (let i = 42; i < 48; i++) points[i] = { ...right };
  return points;
}

t.test('eye centres are the means of the eye landmarks', async (t) => {
  const eyes = eyesFromLandmarks(landmarksWithEyes({ x: 10, y: 20 }, { x: 50, y: 22 }));
  t.same(eyes, { left: { x: 10, y: 20 }, right: { x: 50, y: 22 } });
  t.throws(() => eyesFromLandmarks([]), /68 landmarks/);
});

t.test('level eyes: no rotation, centre below the eyes, side proportional to their distance', async (t) => {
  const g = chipGeometry({ left: { x: 100, y: 100 }, right: { x: 200, y: 100 } });
  t.equal(g.angle, 0);
  t.equal(g.center.x, 150);
  t.ok(g.center.y > 140 && g.center.y < 160, `centre ${g.center.y} about half an eye distance below`);
  t.ok(g.side > 250 && g.side < 320, `side ${g.side} about 2.9 eye distances`);
});

t.test('tilted eyes: the chip turns with them', async (t) => {
  const g = chipGeometry({ left: { x: 0, y: 0 }, right: { x: 100, y: 100 } });
  t.ok(Math.abs(g.angle - Math.PI / 4) < 1e-9);
  // Down the face is perpendicular to the eye line: down and to the left.
  t.ok(g.center.x < 50 && g.center.y > 50);
});

t.test('cutting a chip from a rotated image levels it', async (t) => {
  // A 200×200 image with a bright horizontal bar through the centre, turned by 30°.
  const angle = Math.PI / 6;
  const size = 200;
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = x + 0.5 - 100;
      const dy = y + 0.5 - 100;
      const along = -Math.sin(angle) * dx + Math.cos(angle) * dy; // distance across the bar
      if (Math.abs(along) < 6) data.fill(255, (y * size + x) * 3, (y * size + x) * 3 + 3);
    }
  }
  const image: RgbImage = { data, width: size, height: size };
  const chip = cutChip(image, { center: { x: 100, y: 100 }, side: 100, angle }, 50);
  const rowMean = (y: number) => {
    let s = 0;
    for (let x = 5; x < 45; x++) s += chip.data[(y * 50 + x) * 3]!;
    return s / 40;
  };
  t.ok(rowMean(25) > 200, `the bar runs along the chip's middle row (${rowMean(25)})`);
  t.ok(rowMean(10) < 20 && rowMean(40) < 20, 'and nowhere else');
});

t.test('an aligned 112×112 crop has its eyes where the ArcFace template says, scaled', async (t) => {
  const eyes = eyesOfAlignedCrop(224, 224);
  t.ok(Math.abs(eyes.left.x - 76.59) < 0.01 && Math.abs(eyes.right.x - 147.06) < 0.01);
});

t.test('a border keeps the image in the middle', async (t) => {
  const image: RgbImage = { data: new Uint8Array(10 * 10 * 3).fill(7), width: 10, height: 10 };
  const { image: padded, offset } = addBorder(image, 0.3);
  t.equal(offset, 3);
  t.same([padded.width, padded.height], [16, 16]);
  t.equal(padded.data[(3 * 16 + 3) * 3], 7);
  t.equal(padded.data[0], 128);
});

t.test("dlib's 68-point chip: landmarks on the mean face moved by a known similarity give that similarity back", async (t) => {
  const angle = (20 * Math.PI) / 180;
  const truth = { a: 1.7 * Math.cos(angle), b: 1.7 * Math.sin(angle), tx: 40, ty: -12 };
  // face-api's points count from the image's corner: half a pixel more than dlib's.
  const landmarks: Point[] = Array.from({ length: 68 }, () => ({ x: 0, y: 0 }));
  for (const { index, point: p } of dlibChipTemplate()) {
    landmarks[index] = { x: truth.a * p.x - truth.b * p.y + truth.tx + 0.5, y: truth.b * p.x + truth.a * p.y + truth.ty + 0.5 };
  }
  const fitted = dlibChipTransform(landmarks);
  t.ok(Math.abs(fitted.a - truth.a) < 1e-9 && Math.abs(fitted.b - truth.b) < 1e-9, 'rotation and scale recovered');
  t.ok(Math.abs(fitted.tx - truth.tx) < 1e-6 && Math.abs(fitted.ty - truth.ty) < 1e-6, 'shift recovered');
  t.equal(dlibChipTemplate().length, 33, "dlib aligns by the nose, the eyes and the lips but the lower one's");
  t.throws(() => dlibChipTransform([]), /68 landmarks/);
});

t.test('a chip is cut the same through its geometry or the equivalent transform, and mirror flips it', async (t) => {
  const image: RgbImage = { data: Uint8Array.from({ length: 40 * 40 * 3 }, (_, i) => (i * 37) % 251), width: 40, height: 40 };
  const geometry = { center: { x: 20, y: 21 }, side: 30, angle: 0.3 };
  t.same(cutChip(image, geometry, 16), warpChip(image, geometryTransform(geometry, 16), 16));
  const chip = cutChip(image, geometry, 16);
  const flipped = mirror(chip);
  t.same(Array.from(flipped.data.subarray(0, 3)), Array.from(chip.data.subarray(15 * 3, 16 * 3)), 'the first pixel of the mirror is the last of the row');
  t.same(mirror(flipped), chip);
});

t.test('a chip that shrinks the face averages what each of its pixels covers, not one sample of it', async (t) => {
  // One-pixel stripes, black and white: a single bilinear sample per chip pixel at twice the
  // spacing would land on one colour; the average of the block it covers is grey (blocks of
  // floor(scale) pixels: within a sixth of the range for odd blocks).
  const side = 64;
  const data = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x += 2) data.fill(255, (y * side + x) * 3, (y * side + x) * 3 + 3);
  const image: RgbImage = { data, width: side, height: side };
  for (const scale of [2, 3.5]) {
    const chip = warpChip(image, { a: scale, b: 0, tx: 4, ty: 4 }, 12);
    const inside = [];
    for (let v = 0; v < 12; v++)
      for (let u = 0; u < 12; u++) if (4 + scale * (u + 1) < side - 1 && 4 + scale * (v + 1) < side - 1) inside.push(chip.data[(v * 12 + u) * 3]!);
    t.ok(
      inside.every((p) => p > 80 && p < 175),
      `shrunk ${scale}×: every pixel grey (${Math.min(...inside)}–${Math.max(...inside)})`,
    );
  }
  // Beyond the image's edge the chip is black, as dlib leaves it.
  const off = warpChip(image, { a: 2, b: 0, tx: 200, ty: 200 }, 8);
  t.ok(
    off.data.every((p) => p === 0),
    'outside the image: black',
  );
});
