// The bench's inputs: real photos and video frames from the shared datasets, never copied into the repo.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { RecognizerError } from '../errors.js';
import { defaultCacheDir } from '../vision/onnx/model-cache.js';
import type { RgbImage } from '../vision/types.js';

/** One bench input: photo bytes to decode, or a video frame already in RGB. */
export type BenchInput = { name: string; kind: 'photo'; bytes: Uint8Array } | { name: string; kind: 'frame'; image: RgbImage };

export interface BenchInputs {
  inputs: BenchInput[];
  datasets: string;
  /** Why there are no video frames, when there are none. */
  videoSkipped?: string;
}

export const VIDEO = 'talking-head-aoc-a.mp4';
/** The other clip of her, joined after VIDEO for `bench --live`. */
export const VIDEO_B = 'talking-head-aoc-b.mp4';
/**
 * What `bench --memory`'s cameras loop: a 16:9 film scene with cuts and faces of every size, as a capture
 * box shows. Its small faces take the second look (strips), which a square talking head never does: on
 * that clip the bench read about 30 MiB below what a 16:9 camera holds.
 */
export const MEMORY_VIDEO = 'avengers-corridor.mp4';

/** ACTOR_RECOGNIZER_DATASETS, else `../shared/datasets` from the project root (as the tests do). */
export function datasetsDir(): string {
  const root = path.resolve(defaultCacheDir(), '..', '..');
  return path.resolve(root, process.env['ACTOR_RECOGNIZER_DATASETS'] ?? '../shared/datasets');
}

/**
 * `photos` photos, alternating group shots (several small faces) and single portraits of varied
 * size, so that both the detector's and the per-face stages see realistic work; then `frames`
 * frames of a talking-head video when ffmpeg is installed.
 */
export async function loadBenchInputs(photos: number, frames: number): Promise<BenchInputs> {
  const datasets = datasetsDir();
  const faces = path.join(datasets, 'faces');
  if (!existsSync(faces)) {
    throw new RecognizerError(
      'DATASET_INVALID',
      `bench needs the face datasets, and there are none at ${faces} (set ACTOR_RECOGNIZER_DATASETS to the folder holding faces/ and videos/)`,
    );
  }
  const group = path.join(faces, 'bbt-group-shots');
  const val = path.join(faces, 'five-celebrities', 'val');
  const groupFiles = (await readdir(group))
    .filter(isImage)
    .sort()
    .map((f) => path.join(group, f));
  const portraits: string[] = [];
  for (const person of (await readdir(val)).sort()) {
    const first = (await readdir(path.join(val, person))).filter(isImage).sort()[0];
    if (first) portraits.push(path.join(val, person, first));
  }
  const chosen: string[] = [];
  for (let i = 0; chosen.length < photos && (i < groupFiles.length || i < portraits.length); i++) {
    for (const list of [groupFiles, portraits]) if (list[i] && chosen.length < photos) chosen.push(list[i]!);
  }
  const inputs: BenchInput[] = [];
  for (const file of chosen) inputs.push({ name: path.relative(faces, file), kind: 'photo', bytes: new Uint8Array(await readFile(file)) });
  const video = path.join(datasets, 'videos', VIDEO);
  const found = frames > 0 ? await videoFrames(video, frames) : { frames: [], skipped: 'no video frames asked for' };
  inputs.push(...found.frames.map((image, i) => ({ name: `${VIDEO}#${i}`, kind: 'frame' as const, image })));
  return { inputs, datasets, videoSkipped: found.skipped };
}

function isImage(file: string): boolean {
  return /\.(jpe?g|png|webp)$/i.test(file);
}

/** Raw RGB frames, one per second from the start, cut from ffmpeg's stdout by byte count. */
async function videoFrames(file: string, count: number): Promise<{ frames: RgbImage[]; skipped?: string }> {
  if (!existsSync(file)) return { frames: [], skipped: `${file} is absent` };
  if (spawnSync('ffmpeg', ['-version']).error || spawnSync('ffprobe', ['-version']).error) {
    return { frames: [], skipped: 'ffmpeg or ffprobe is not installed' };
  }
  const run = promisify(execFile);
  try {
    const probe = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file]);
    const [width, height] = probe.stdout.trim().split(',').map(Number) as [number, number];
    const { stdout } = await run(
      'ffmpeg',
      ['-v', 'error', '-i', file, '-vf', 'fps=1', '-frames:v', String(count), '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
      {
        encoding: 'buffer',
        maxBuffer: count * width * height * 3 + 1024,
      },
    );
    const size = width * height * 3;
    if (!(size > 0) || stdout.length % size !== 0) return { frames: [], skipped: `ffmpeg gave ${stdout.length} bytes, not whole ${width}×${height} frames` };
    const frames: RgbImage[] = [];
    for (let at = 0; at < stdout.length; at += size) frames.push({ data: new Uint8Array(stdout.subarray(at, at + size)), width, height });
    return { frames };
  } catch (err) {
    return { frames: [], skipped: `ffmpeg failed: ${(err as Error).message.split('\n')[0]}` };
  }
}
