// The `crops` command: each actor's aligned face chips as PNG files, the training data of image classifiers.
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { RecognizerError } from '../errors.js';
import { CHIP_CROP } from '../recognize/manifest.js';
import { scanDataset, seededShuffle } from '../train/dataset.js';
import type { FaceSource } from '../train/face-source.js';
import { chooseFaces, differenceHash, hammingDistance, NEAR_DUPLICATE_BITS, type Photo } from '../train/select.js';
import { decodeImage } from '../vision/decode.js';
import { faceChip } from '../vision/pipeline.js';
import { CHIP_SIZE } from '../vision/types.js';
import { Progress } from '../util/progress.js';
import { datasetFaces, print, type CommandContext } from './common.js';

/** Tag of `crops.json`, the index a crops folder carries (read by `training/resnet50/train.py`). */
export const CROPS_FORMAT = 'actor-recognizer/crops@1';

export interface CropsArgs {
  datasets: string[];
  out: string;
  maxPerActor?: number;
  seed?: number;
  cache: boolean;
}

interface Skipped {
  noFace: number;
  unreadable: number;
  duplicates: number;
  disagreeing: number;
}

/** One photo kept for an actor: its bytes, to cut the chosen face's chip from. */
interface Kept extends Photo {
  file: string;
  bytes: Uint8Array;
}

/**
 * Writes `out/<actor>/NNN-<photo>.png`, the aligned chip of the actor's face in each photo, and
 * `out/crops.json`. The faces are found and chosen as `train` chooses them (the face that agrees
 * with the actor's other photos; duplicates and photos without a face skipped), and each chip is cut
 * by the code the daemon runs, so that a model trained on them sees what the daemon will feed it.
 */
export async function cropsCommand(ctx: CommandContext, args: CropsArgs): Promise<void> {
  await refuseNonEmpty(args.out);
  const dataset = await scanDataset(args.datasets);
  await mkdir(args.out, { recursive: true });
  const { source, extractor } = await datasetFaces(ctx.config, { cache: args.cache });
  const seed = args.seed ?? 1;
  const chosen = [...dataset].map(([actor, files]) => [actor, args.maxPerActor ? seededShuffle(files, seed).slice(0, args.maxPerActor) : files] as const);
  const progress = new Progress('cropping', chosen.reduce((n, [, f]) => n + f.length, 0));
  const skipped: Skipped = { noFace: 0, unreadable: 0, duplicates: 0, disagreeing: 0 };
  const seen = { hashes: new Set<string>(), looks: [] as bigint[] };
  const actors: Record<string, { file: string; source: string }[]> = {};
  for (const [actor, files] of chosen) {
    const photos: Kept[] = [];
    for (const file of files) {
      const kept = await keep(source, file, seen, skipped);
      progress.tick();
      if (kept) photos.push(kept);
    }
    const { chosen: faces, disagreeing } = chooseFaces(photos);
    skipped.disagreeing += disagreeing.length;
    if (faces.length === 0) continue;
    await mkdir(path.join(args.out, actor), { recursive: true });
    const byId = new Map(photos.map((p) => [p.id, p]));
    actors[actor] = [];
    for (const [i, { id, face }] of faces.entries()) {
      const photo = byId.get(id)!;
      const chip = faceChip(await decodeImage(photo.bytes, { maxPixels: ctx.config.vision.maxPixels }), face);
      const name = `${String(i).padStart(3, '0')}-${path.parse(photo.file).name.replace(/[^A-Za-z0-9._-]/g, '_')}.png`;
      await sharp(chip.data, { raw: { width: chip.width, height: chip.height, channels: 3 } }).png().toFile(path.join(args.out, actor, name));
      actors[actor].push({ file: `${actor}/${name}`, source: photo.file });
    }
  }
  progress.finish();
  const counts = Object.fromEntries(Object.entries(actors).map(([a, list]) => [a, list.length]));
  const images = Object.values(counts).reduce((a, b) => a + b, 0);
  if (images === 0) throw new RecognizerError('DATASET_INVALID', `no face was found in the photos under ${args.datasets.join(', ')}`);
  const index = { format: CROPS_FORMAT, crop: CHIP_CROP, width: CHIP_SIZE, height: CHIP_SIZE, colour: 'RGB', extractor, createdAt: new Date().toISOString(), datasets: args.datasets, seed, maxPerActor: args.maxPerActor ?? null, skipped, actors };
  // Written last under a temporary name: a crops.json means the folder is complete.
  const tmp = path.join(args.out, `.crops.json.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(index, null, 2) + '\n');
  await rename(tmp, path.join(args.out, 'crops.json'));
  print(
    ctx.json,
    { out: args.out, actors: counts, images, skipped },
    `${images} face chips of ${Object.keys(counts).length} actors written to ${args.out}` +
      ` (skipped: ${skipped.noFace} without a face, ${skipped.unreadable} unreadable, ${skipped.duplicates} duplicates, ${skipped.disagreeing} whose faces disagree with the actor's other photos)`,
  );
}

/** The photo's faces, or undefined (counted) when it is unreadable, has no face, or repeats one already kept. */
async function keep(source: FaceSource, file: string, seen: { hashes: Set<string>; looks: bigint[] }, skipped: Skipped): Promise<Kept | undefined> {
  const result = await source.faces(file);
  if (result.status !== 'ok') {
    skipped[result.status === 'no-face' ? 'noFace' : 'unreadable']++;
    return undefined;
  }
  const look = seen.hashes.has(result.hash) ? undefined : await differenceHash(result.bytes);
  if (look === undefined || seen.looks.some((other) => hammingDistance(other, look) <= NEAR_DUPLICATE_BITS)) {
    skipped.duplicates++;
    return undefined;
  }
  seen.hashes.add(result.hash);
  seen.looks.push(look);
  return { id: result.hash, faces: result.faces, file, bytes: result.bytes };
}

/** Never writes into a folder holding anything: a typo in --out must not mix crops with other files. */
async function refuseNonEmpty(out: string): Promise<void> {
  const entries = await readdir(out).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw new RecognizerError('USAGE', `--out ${out} cannot be read: ${err.message}`);
  });
  if (entries.length > 0) throw new RecognizerError('USAGE', `--out ${out} is not empty: give a new folder for the crops`);
}
