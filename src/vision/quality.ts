// How much a face is worth as evidence of who it is: its size, sharpness, pose and detector score.
import type { Box, Point, RgbImage } from './types.js';

/** The parts of a face's quality (each 0–1) and their product. */
export interface FaceQuality {
  /** The product of the parts: what tracks weigh faces by. */
  score: number;
  /**
   * How much higher than a sharp face's this face's cosine must be to name it (0 for a sharp face):
   * a blurred face sits close to every actor (the embedder's blurMargin, scaled by the blur below).
   */
  margin: number;
  size: number;
  sharpness: number;
  pose: number;
  detector: number;
}

/**
 * Face height (pixels of the frame) from which size costs nothing. Measured on the pooled photos
 * shrunk into a 640×360 frame (250 faces; given a detection, the right actor was nearest): 24 px
 * 86%, 32 px 96%, 48 px 97%, 64 px 98%.
 */
const FULL_SIZE = 64;
/** Yaw, as the nose's offset from the eyes' midpoint in eye distances, at which a face is in profile. */
const PROFILE_YAW = 0.6;
/** Detector scores from this up are as good as any. */
const SURE_DETECTION = 0.8;
/**
 * Laplacian energy of the grey chip (see laplacianEnergy), measured on the pooled photos' faces: at
 * full size median 307 (10% under 64), shrunk to 80 px and JPEG-compressed 87, 56 px 44, 40 px 22,
 * 28 px 9.5, 20 px 4.7; the crowd clip's faces 1.6, the labelled film scenes' 12–16.
 */
const SHARP = 300;
const BLURRED = 10;

/**
 * The margin (the embedder's blurMargin, see embedder.ts) grows with the logarithm of the blur, from
 * 0 at SHARP to all of it at BLURRED and below. Measured for face-api's descriptor on the pooled
 * photos (five strangers, eight draws) shrunk and JPEG-compressed, with the threshold that rejects
 * 95% of the strangers' sharp faces: 24% of their faces at 28 px passed it and 21% at 20 px (against
 * 5% sharp), and the score that rejects 95% of them rose by 0.007–0.008 at 20–40 px, 0.004 at 56 px
 * and 0.001 at 80 px: a blurred face sits close to every actor. MobileFaceNet's blurred strangers
 * scored lower instead (0.2–3% passed at 20–40 px), so it needs none.
 */

/** No part of the quality goes below this: a poor face still adds a little to its track's evidence. */
const FLOOR = 0.1;

/**
 * The quality of a face: `box` and `landmarks` in the frame's pixels, `detectorScore` 0–1 (0 for an
 * assumed aligned crop), `chip` the aligned chip its embedding is made from, `blurMargin` the
 * embedder's margin for a fully blurred face.
 */
export function faceQuality(box: Box, landmarks: readonly Point[], detectorScore: number, chip: RgbImage, blurMargin: number): FaceQuality {
  const size = clamp(box.height / FULL_SIZE);
  const pose = landmarks.length === 68 ? clamp(1 - Math.abs(yaw(landmarks)) / PROFILE_YAW) : 1;
  const detector = detectorScore > 0 ? clamp(detectorScore / SURE_DETECTION) : 1;
  // 0 at BLURRED and below, 1 at SHARP and above, by the logarithm in between.
  const blur = Math.min(1, Math.max(0, Math.log(SHARP / Math.max(laplacianEnergy(chip), 1e-3)) / Math.log(SHARP / BLURRED)));
  const sharpness = clamp(1 - blur);
  const round = (x: number) => Math.round(x * 1000) / 1000;
  return {
    score: round(size * pose * detector * sharpness),
    margin: Math.round(blurMargin * blur * 1e4) / 1e4,
    size: round(size),
    sharpness: round(sharpness),
    pose: round(pose),
    detector: round(detector),
  };
}

function clamp(x: number): number {
  return Math.max(FLOOR, Math.min(1, x));
}

/** Left-right turn: the nose tip's offset from the middle of the eyes, in eye distances (0 frontal). */
export function yaw(landmarks: readonly Point[]): number {
  const eye = (from: number) => {
    let x = 0;
    let y = 0;
    for (let i = from; i < from + 6; i++) {
      x += landmarks[i]!.x / 6;
      y += landmarks[i]!.y / 6;
    }
    return { x, y };
  };
  const left = eye(36);
  const right = eye(42);
  const distance = Math.hypot(right.x - left.x, right.y - left.y) || 1;
  // Project the nose onto the eye line, so that a tilted head does not read as a turned one.
  const ux = (right.x - left.x) / distance;
  const uy = (right.y - left.y) / distance;
  const nose = landmarks[30]!;
  return ((nose.x - (left.x + right.x) / 2) * ux + (nose.y - (left.y + right.y) / 2) * uy) / distance;
}

/**
 * Mean squared Laplacian of the chip's grey levels over its middle (the face, not the background):
 * low for a face that was small or blurred before it was scaled up to the chip.
 */
export function laplacianEnergy(chip: RgbImage): number {
  const { data, width, height } = chip;
  const grey = (x: number, y: number) => {
    const o = (y * width + x) * 3;
    return 0.299 * data[o]! + 0.587 * data[o + 1]! + 0.114 * data[o + 2]!;
  };
  const x0 = Math.floor(width * 0.25);
  const x1 = Math.ceil(width * 0.75);
  const y0 = Math.floor(height * 0.25);
  const y1 = Math.ceil(height * 0.75);
  let sum = 0;
  let n = 0;
  // Every other pixel: the figure is a statistic, and this runs per face per frame.
  for (let y = Math.max(1, y0); y < Math.min(height - 1, y1); y += 2) {
    for (let x = Math.max(1, x0); x < Math.min(width - 1, x1); x += 2) {
      const l = grey(x - 1, y) + grey(x + 1, y) + grey(x, y - 1) + grey(x, y + 1) - 4 * grey(x, y);
      sum += l * l;
      n++;
    }
  }
  return n ? sum / n : 0;
}
