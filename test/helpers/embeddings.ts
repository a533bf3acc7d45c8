// Real face embeddings of dataset photos, made by the daemon's pipeline as the API would make them.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { largestFace } from '../../src/train/face-source.js';
import { decodeImage } from '../../src/vision/decode.js';
import type { FaceObservation } from '../../src/vision/pipeline.js';
import type { RgbImage } from '../../src/vision/types.js';
import { testPipeline } from './models.js';

/** The photos of one person's folder, sorted by name. */
export async function photosOf(folder: string): Promise<string[]> {
  return (await readdir(folder))
    .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
    .sort()
    .map((f) => path.join(folder, f));
}

/**
 * The largest face's embedding of each photo (photos without a face are left out). Not through the
 * training cache: these tests compare embeddings with each other, so they are made here and now.
 */
export async function embeddingsOf(files: string[]): Promise<Float32Array[]> {
  return (await facesOf(files)).map((f) => f.face.embedding);
}

/** Each photo decoded, with its largest face (photos without a face are left out): what a camera frame gives. */
export async function facesOf(files: string[]): Promise<{ image: RgbImage; face: FaceObservation }[]> {
  const pipeline = await testPipeline();
  const out: { image: RgbImage; face: FaceObservation }[] = [];
  for (const file of files) {
    const image = await decodeImage(await readFile(file), { maxPixels: 40_000_000 });
    const faces = await pipeline.analyze(image, { fallback: 'retry' });
    if (faces.length) out.push({ image, face: largestFace(faces) });
  }
  return out;
}
