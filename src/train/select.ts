// Dataset hygiene: drop duplicate photos, and choose in each photo the face that is the actor's.
import sharp from 'sharp';
import type { FaceObservation } from '../vision/pipeline.js';
import { largestFace } from './face-source.js';
import { dot, unit } from '../util/vectors.js';

/** Side of the difference hash: 16×16 = 256 bits. */
const HASH_SIDE = 16;

/**
 * A 256-bit difference hash: the image shrunk to 17×16 grey pixels, one bit per horizontal step.
 * Near duplicates (re-encoded, resized, lightly cropped copies of one photo) differ in a few bits.
 * The common 64-bit (8×8) hash is too coarse for face crops, which all share one layout: it put
 * different photos of one actor 8 bits apart, as close as a true copy.
 */
export async function differenceHash(bytes: Uint8Array): Promise<bigint> {
  const w = HASH_SIDE + 1;
  const pixels = await sharp(bytes, { failOn: 'none' }).rotate().greyscale().resize(w, HASH_SIDE, { fit: 'fill' }).raw().toBuffer();
  let hash = 0n;
  for (let y = 0; y < HASH_SIDE; y++) {
    for (let x = 0; x < HASH_SIDE; x++) hash = (hash << 1n) | (pixels[y * w + x]! > pixels[y * w + x + 1]! ? 1n : 0n);
  }
  return hash;
}

export function hammingDistance(a: bigint, b: bigint): number {
  let x = a ^ b;
  let count = 0;
  while (x) {
    count += Number(x & 1n);
    x >>= 1n;
  }
  return count;
}

/**
 * Hashes this close or closer are the same photo: the five-celebrities train/val copy of one Ben
 * Affleck photo differs in 23 of 256 bits; different photos of one actor, aligned crops included,
 * in 47 or more.
 */
export const NEAR_DUPLICATE_BITS = 32;

/**
 * A face whose cosine to the mean of the actor's other photos is under this does not agree with
 * them (face-api's; each embedder has its own, EmbedderTuning.agreement). Measured on the pooled photos: the actor's own faces score at least 0.87 and 99% of them
 * over 0.92, while the other people in the same photos score 0.85–0.93.
 */
export const AGREEMENT = 0.9;

export interface Photo {
  id: string;
  faces: FaceObservation[];
}

/**
 * Chooses, in each photo of one actor, the face that agrees with the actor's other photos, and
 * drops photos where none does. Web photos of an actor often hold other people, and the largest
 * face is then not always the actor. Starts from the faces of single-face photos (or the largest
 * faces), then scores every face against the mean of the other photos' choices, twice.
 */
export function chooseFaces(photos: Photo[], agreement = AGREEMENT): { chosen: { id: string; face: FaceObservation }[]; disagreeing: string[] } {
  if (photos.length < 3) return { chosen: photos.map((p) => ({ id: p.id, face: largestFace(p.faces) })), disagreeing: [] };
  const single = photos.filter((p) => p.faces.length === 1).length;
  let choice = photos.map((p) => (single >= 2 && p.faces.length > 1 ? undefined : largestFace(p.faces)));
  let scores: number[] = [];
  for (let round = 0; round < 2; round++) {
    const units = choice.map((f) => (f ? unit(f.embedding) : undefined));
    const sum = new Float32Array(units.find(Boolean)!.length);
    for (const u of units) if (u) u.forEach((x, i) => (sum[i]! += x));
    scores = [];
    choice = photos.map((photo, p) => {
      // The mean of the other photos' choices, so that a photo cannot vote for itself.
      const others = units[p] ? sum.map((x, i) => x - units[p]![i]!) : sum;
      const mean = unit(others);
      let best = photo.faces[0]!;
      let bestScore = -Infinity;
      for (const face of photo.faces) {
        const s = dot(unit(face.embedding), mean);
        if (s > bestScore) {
          bestScore = s;
          best = face;
        }
      }
      scores.push(bestScore);
      return best;
    });
  }
  const chosen: { id: string; face: FaceObservation }[] = [];
  const disagreeing: string[] = [];
  photos.forEach((photo, p) => {
    if (scores[p]! >= agreement) chosen.push({ id: photo.id, face: choice[p]! });
    else disagreeing.push(photo.id);
  });
  return { chosen, disagreeing };
}
