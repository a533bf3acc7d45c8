// Faces of a photo file for training and evaluation: decoded and embedded by the daemon's own code.
import { readFile } from 'node:fs/promises';
import { isRecognizerError } from '../errors.js';
import { sha256 } from '../recognize/manifest.js';
import { decodeImage } from '../vision/decode.js';
import type { FaceObservation, FacePipeline } from '../vision/pipeline.js';
import type { RgbImage } from '../vision/types.js';
import type { EmbedderTuning } from '../vision/embedder.js';
import type { EmbeddingCache } from './embedding-cache.js';
import { faceInMiddle, shrunkInFrame } from './shrink.js';

export type PhotoResult =
  { status: 'ok'; hash: string; faces: FaceObservation[]; bytes: Uint8Array } | { status: 'no-face'; hash: string } | { status: 'unreadable'; reason: string };

export class FaceSource {
  private readonly pipeline: FacePipeline;
  private readonly cache: EmbeddingCache | undefined;
  private readonly maxPixels: number;

  constructor(pipeline: FacePipeline, options: { cache?: EmbeddingCache; maxPixels: number }) {
    this.pipeline = pipeline;
    this.cache = options.cache;
    this.maxPixels = options.maxPixels;
  }

  /** The embedder's cosine bars. */
  get tuning(): EmbedderTuning {
    return this.pipeline.embedder.tuning;
  }

  /** Every face of a frame (no dataset fallbacks), as a camera's frame is analysed. */
  analyze(image: RgbImage): Promise<FaceObservation[]> {
    return this.pipeline.analyze(image, { fallback: 'none', video: true });
  }

  /** The chip an image classifier takes of a face found in `image` (dlib-chip-150, whatever the embedder). */
  chip(image: RgbImage, face: FaceObservation): RgbImage {
    return this.pipeline.embedder.classifierChip(image, face);
  }

  /**
   * Every face in a dataset photo. Dataset photos are known to show a face, so a photo where the
   * detector finds none is tried again with a border, then taken as an aligned face crop.
   */
  async faces(file: string): Promise<PhotoResult> {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      return { status: 'unreadable', reason: (err as Error).message };
    }
    const hash = sha256(bytes);
    let faces = await this.cache?.get(hash);
    if (!faces) {
      try {
        const image = await decodeImage(bytes, { maxPixels: this.maxPixels });
        faces = await this.pipeline.analyze(image, { fallback: 'face-crop' });
      } catch (err) {
        if (isRecognizerError(err)) return { status: 'unreadable', reason: err.message };
        throw err;
      }
      await this.cache?.set(hash, faces);
    }
    return faces.length > 0 ? { status: 'ok', hash, faces, bytes } : { status: 'no-face', hash };
  }

  /**
   * A photo's face as a TV would show it: the photo shrunk so that `face` is `size` px high, in a
   * 640×360 frame (train/shrink.ts), through detection, landmarks, alignment and embedding; null
   * when the pipeline does not find it there. Cached by the photo's hash and the size.
   */
  async shrunk(photo: { hash: string; bytes: Uint8Array }, face: FaceObservation, size: number): Promise<FaceObservation | null> {
    const key = `${photo.hash}-${Math.round(face.box.height)}to${size}px`;
    let found = await this.cache?.get(key);
    if (!found) {
      const small = faceInMiddle(await this.analyze(await shrunkInFrame(photo.bytes, face.box, size)), size);
      found = small ? [small] : [];
      await this.cache?.set(key, found);
    }
    return found[0] ?? null;
  }
}

/** The largest face of a photo: in a photo filed under a person, most often that person. */
export function largestFace(faces: readonly FaceObservation[]): FaceObservation {
  return faces.reduce((a, b) => (b.box.width * b.box.height > a.box.width * a.box.height ? b : a));
}
