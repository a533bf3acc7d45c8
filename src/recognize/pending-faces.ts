// Faces found for enrollment, kept a short while by id until a person is named from them.
import { randomBytes } from 'node:crypto';
import { RecognizerError } from '../errors.js';
import { faceThumbnail } from '../vision/thumbnail.js';
import type { Box, RgbImage } from '../vision/types.js';
import type { NamedFace } from './recognizer.js';

/** A face as the enrollment routes show it: the embedding stays on the device. */
export interface FoundFace {
  id: string;
  box: Box;
  /** A JPEG data URL. */
  thumbnail: string;
  /** Who the running model says it is, if anyone: enrolling a known actor under a new name is a mistake. */
  actor: string | null;
  confidence: number;
  expiresAt: string;
}

interface Pending {
  face: FoundFace;
  embedding: Float32Array;
  expires: number;
}

export interface PendingOptions {
  /** How long a found face can be named, in ms. */
  ttlMs: number;
  /** Faces kept at most; the oldest go first (memory is bounded whatever clients do). */
  max: number;
}

export const PENDING_DEFAULTS: PendingOptions = { ttlMs: 30 * 60_000, max: 300 };

export class PendingFaces {
  private readonly options: PendingOptions;
  /** Insertion order is age order, so the first entries are the ones to drop. */
  private readonly faces = new Map<string, Pending>();

  constructor(options: PendingOptions = PENDING_DEFAULTS) {
    this.options = options;
  }

  /** Keeps every face of `image` (with a thumbnail) and returns them as the page shows them. */
  async add(image: RgbImage, named: NamedFace[], now = Date.now()): Promise<FoundFace[]> {
    this.expire(now);
    const found: FoundFace[] = [];
    for (const f of named) {
      const r = (v: number) => Math.round(v * 10) / 10;
      const face: FoundFace = {
        id: randomBytes(9).toString('base64url'),
        box: { x: r(f.box.x), y: r(f.box.y), width: r(f.box.width), height: r(f.box.height) },
        thumbnail: await faceThumbnail(image, f.box),
        actor: f.actor,
        confidence: Math.round(f.confidence * 1000) / 1000,
        expiresAt: new Date(now + this.options.ttlMs).toISOString(),
      };
      this.faces.set(face.id, { face, embedding: f.embedding, expires: now + this.options.ttlMs });
      found.push(face);
    }
    while (this.faces.size > this.options.max) this.faces.delete(this.faces.keys().next().value!);
    return found;
  }

  /** The embeddings of `ids` (each once), or ENROLL_NOT_FOUND naming those that expired or never were. */
  embeddings(ids: readonly string[], now = Date.now()): Float32Array[] {
    this.expire(now);
    const unique = [...new Set(ids)];
    const missing = unique.filter((id) => !this.faces.has(id));
    if (missing.length)
      throw new RecognizerError(
        'ENROLL_NOT_FOUND',
        `${missing.length} of the faces expired or never existed (find them again): ${missing.slice(0, 5).join(', ')}`,
      );
    return unique.map((id) => this.faces.get(id)!.embedding);
  }

  /** Forgets faces once they are enrolled. */
  remove(ids: readonly string[]): void {
    for (const id of ids) this.faces.delete(id);
  }

  get size(): number {
    return this.faces.size;
  }

  private expire(now: number): void {
    for (const [id, p] of this.faces) if (p.expires <= now) this.faces.delete(id);
  }
}
