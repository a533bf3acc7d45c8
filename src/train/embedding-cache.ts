// Caches the faces found in an image by the image's content hash, so a second run is fast.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FaceObservation } from '../vision/pipeline.js';

/** The default cache folder: $ACTOR_RECOGNIZER_CACHE, else the user's cache directory. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ACTOR_RECOGNIZER_CACHE) return env.ACTOR_RECOGNIZER_CACHE;
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'actor-recognizer', 'faces');
}

interface Stored {
  faces: {
    box: FaceObservation['box'];
    score: number;
    via: FaceObservation['via'];
    embedding: string;
    landmarks: FaceObservation['landmarks'];
    quality: FaceObservation['quality'];
  }[];
}

export class EmbeddingCache {
  private readonly dir: string;

  /** `pipelineKey` names everything that changes the faces found (backend, detector, options). */
  constructor(dir: string, pipelineKey: string) {
    this.dir = path.join(dir, pipelineKey.replace(/[^A-Za-z0-9._-]/g, '_'));
  }

  private file(hash: string): string {
    return path.join(this.dir, hash.slice(0, 2), `${hash}.json`);
  }

  async get(hash: string): Promise<FaceObservation[] | undefined> {
    let stored: Stored;
    try {
      stored = JSON.parse(await readFile(this.file(hash), 'utf8')) as Stored;
    } catch {
      return undefined;
    }
    return stored.faces.map((f) => {
      const bytes = Buffer.from(f.embedding, 'base64');
      const embedding = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      return { box: f.box, score: f.score, via: f.via, landmarks: f.landmarks, quality: f.quality, embedding };
    });
  }

  async set(hash: string, faces: FaceObservation[]): Promise<void> {
    const stored: Stored = {
      faces: faces.map((f) => ({
        box: f.box,
        score: f.score,
        via: f.via,
        landmarks: f.landmarks,
        quality: f.quality,
        embedding: Buffer.from(f.embedding.buffer, f.embedding.byteOffset, f.embedding.byteLength).toString('base64'),
      })),
    };
    const file = this.file(hash);
    await mkdir(path.dirname(file), { recursive: true });
    // Written under a temporary name and renamed, so that a killed run never leaves half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(stored));
    await rename(tmp, file);
  }
}
