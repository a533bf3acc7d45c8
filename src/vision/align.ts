// Face alignment: level the eyes and cut the square chip the descriptor network was trained on.
import { CHIP_SIZE, type Point, type RgbImage } from './types.js';

/**
 * Where the chip sits relative to the eyes, from dlib's face chip template (the descriptor is dlib's
 * ResNet, trained on chips cut by `get_face_chip_details(shape, 150, 0.25)`): the chip's centre lies
 * 0.524 eye-distances below the midpoint of the eyes, and half its side is 0.963365 · (1 + 2 · padding)
 * eye-distances.
 */
const CENTER_BELOW_EYES = 0.524;
const SIDE_PER_EYE_DISTANCE = 0.963365;
const PADDING = 0.25;

/** Eye centres in the 112×112 ArcFace template that aligned face datasets (Glint360K, MS1M) use. */
const ARCFACE_EYES: readonly [Point, Point] = [
  { x: 38.2946, y: 51.6963 },
  { x: 73.5318, y: 51.5014 },
];

export interface EyePair {
  /** The eye on the viewer's left (the subject's right). */
  left: Point;
  right: Point;
}

/** Eye centres from the 68 iBUG landmarks (36–41 and 42–47). */
export function eyesFromLandmarks(points: readonly Point[]): EyePair {
  if (points.length !== 68) throw new Error(`expected 68 landmarks, got ${points.length}`);
  const mean = (from: number): Point => {
    let x = 0;
    let y = 0;
    for (let i = from; i < from + 6; i++) {
      x += points[i]!.x;
      y += points[i]!.y;
    }
    return { x: x / 6, y: y / 6 };
  };
  return { left: mean(36), right: mean(42) };
}

/** Eye centres of an image that is already an aligned face crop in the ArcFace layout. */
export function eyesOfAlignedCrop(width: number, height: number): EyePair {
  const sx = width / 112;
  const sy = height / 112;
  const [l, r] = ARCFACE_EYES;
  return { left: { x: l.x * sx, y: l.y * sy }, right: { x: r.x * sx, y: r.y * sy } };
}

/** The chip's square in the source image: centre, side and rotation (radians). */
export interface ChipGeometry {
  center: Point;
  side: number;
  angle: number;
}

export function chipGeometry(eyes: EyePair): ChipGeometry {
  const vx = eyes.right.x - eyes.left.x;
  const vy = eyes.right.y - eyes.left.y;
  const distance = Math.hypot(vx, vy);
  // Rotating the eye vector 90° clockwise (in image coordinates, y down) points down the face.
  const center = {
    x: (eyes.left.x + eyes.right.x) / 2 - CENTER_BELOW_EYES * vy,
    y: (eyes.left.y + eyes.right.y) / 2 + CENTER_BELOW_EYES * vx,
  };
  return { center, side: 2 * SIDE_PER_EYE_DISTANCE * (1 + 2 * PADDING) * distance, angle: Math.atan2(vy, vx) };
}

/**
 * Cuts the rotated square `geometry` out of `image` into a size×size RGB chip. Bilinear sampling,
 * averaged over a grid of sub-samples when the chip shrinks the face (so a large face is not
 * aliased); pixels outside the image are black, as dlib leaves them.
 */
export function cutChip(image: RgbImage, geometry: ChipGeometry, size = CHIP_SIZE): RgbImage {
  const out = new Uint8Array(size * size * 3);
  const scale = geometry.side / size;
  const cos = Math.cos(geometry.angle) * scale;
  const sin = Math.sin(geometry.angle) * scale;
  const sub = Math.max(1, Math.min(4, Math.ceil(scale)));
  const { data, width, height } = image;
  const acc = [0, 0, 0];
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      acc[0] = acc[1] = acc[2] = 0;
      for (let sv = 0; sv < sub; sv++) {
        for (let su = 0; su < sub; su++) {
          const du = u + (su + 0.5) / sub - size / 2;
          const dv = v + (sv + 0.5) / sub - size / 2;
          // Source position, in pixel-centre coordinates.
          const x = geometry.center.x + cos * du - sin * dv - 0.5;
          const y = geometry.center.y + sin * du + cos * dv - 0.5;
          sampleBilinear(data, width, height, x, y, acc);
        }
      }
      const o = (v * size + u) * 3;
      const n = sub * sub;
      out[o] = Math.round(acc[0]! / n);
      out[o + 1] = Math.round(acc[1]! / n);
      out[o + 2] = Math.round(acc[2]! / n);
    }
  }
  return { data: out, width: size, height: size };
}

function sampleBilinear(data: Uint8Array, width: number, height: number, x: number, y: number, acc: number[]): void {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  for (let c = 0; c < 3; c++) {
    const p00 = pixel(data, width, height, x0, y0, c);
    const p10 = pixel(data, width, height, x0 + 1, y0, c);
    const p01 = pixel(data, width, height, x0, y0 + 1, c);
    const p11 = pixel(data, width, height, x0 + 1, y0 + 1, c);
    acc[c]! += (p00 * (1 - fx) + p10 * fx) * (1 - fy) + (p01 * (1 - fx) + p11 * fx) * fy;
  }
}

function pixel(data: Uint8Array, width: number, height: number, x: number, y: number, c: number): number {
  if (x < 0 || y < 0 || x >= width || y >= height) return 0;
  return data[(y * width + x) * 3 + c]!;
}

/** Adds a border of `fraction` of the longer side on every side, in mid-grey, for detectors that
 * miss faces touching the image's edges. Returns the padded image and the offset to subtract. */
export function addBorder(image: RgbImage, fraction: number): { image: RgbImage; offset: number } {
  const pad = Math.round(Math.max(image.width, image.height) * fraction);
  const width = image.width + 2 * pad;
  const height = image.height + 2 * pad;
  const data = new Uint8Array(width * height * 3).fill(128);
  for (let y = 0; y < image.height; y++) {
    const from = y * image.width * 3;
    data.set(image.data.subarray(from, from + image.width * 3), ((y + pad) * width + pad) * 3);
  }
  return { image: { data, width, height }, offset: pad };
}
