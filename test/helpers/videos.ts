// The shared test videos, and an actor model enrolled from frames of one of them.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultCacheDir, EmbeddingCache } from '../../src/train/embedding-cache.js';
import { FaceSource } from '../../src/train/face-source.js';
import { trainModel } from '../../src/train/train.js';
import { DATASETS, faces } from './datasets.js';
import { testPipeline } from './models.js';
import { builtOnce } from './test-cache.js';

export const video = (name: string) => path.join(DATASETS, 'videos', name);

/** The person of the talking-head-aoc clips, by the name the enrollment folder gives her. */
export const AOC = 'Alexandria Ocasio-Cortez';

/** Why the video tests cannot run here, or undefined. */
export function videosMissing(): string | undefined {
  if (!existsSync(video('talking-head-aoc-a.mp4')))
    return `the test videos are not at ${path.join(DATASETS, 'videos')} (set ACTOR_RECOGNIZER_DATASETS): skipped`;
  if (!existsSync(faces('five-celebrities', 'train'))) return `the face datasets are not at ${DATASETS}: skipped`;
  return undefined;
}

/**
 * A bundle that knows AOC from 2 frames a second of talking-head-aoc-a.mp4 (as JPEGs in a folder
 * named after her) and the five celebrities as the other actors. Once per run, shared: read it, never
 * write into it.
 */
export async function aocModel(): Promise<string> {
  const maxPerActor = Number(process.env.AR_ENROLL_MAX ?? 12);
  const dir = await builtOnce(`aoc-${maxPerActor}`, async (out) => {
    const base = await mkdtemp(path.join(os.tmpdir(), 'ar-enroll-'));
    const person = path.join(base, 'people', AOC);
    await mkdir(person, { recursive: true });
    await promisify(execFile)('ffmpeg', [
      '-v',
      'error',
      '-i',
      video('talking-head-aoc-a.mp4'),
      '-vf',
      'fps=2',
      '-q:v',
      '3',
      path.join(person, 'frame-%03d.jpg'),
    ]);
    const p = await testPipeline();
    const cache = new EmbeddingCache(defaultCacheDir(), `${p.revision}-test`);
    const source = new FaceSource(p, { cache, maxPixels: 40_000_000 });
    await trainModel(source, {
      datasets: [path.join(base, 'people'), faces('five-celebrities', 'train')],
      out: path.join(out, 'model'),
      maxPerActor,
      embedder: p.embedder.spec,
    });
  });
  return path.join(dir, 'model');
}
