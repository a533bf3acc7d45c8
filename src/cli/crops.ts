// The `crops` command: each actor's aligned face chips as PNG files, the training data of image classifiers.
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { RecognizerError } from '../errors.js';
import { CHIP_CROP } from '../recognize/manifest.js';
import { chooseActorFaces, noSkips } from '../train/choose-faces.js';
import { scanDataset } from '../train/dataset.js';
import { decodeImage } from '../vision/decode.js';
import { CHIP_SIZE } from '../vision/types.js';
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
  const { pipeline, source, embedder } = await datasetFaces(ctx.config, { cache: args.cache });
  const seed = args.seed ?? 1;
  const skipped = noSkips();
  const actors: Record<string, { file: string; source: string }[]> = {};
  for await (const { actor, faces } of chooseActorFaces(source, dataset, { maxPerActor: args.maxPerActor, seed, label: 'cropping' }, skipped)) {
    if (faces.length === 0) continue;
    await mkdir(path.join(args.out, actor), { recursive: true });
    actors[actor] = [];
    for (const [i, { file, bytes, face }] of faces.entries()) {
      const chip = pipeline.embedder.classifierChip(await decodeImage(bytes, { maxPixels: ctx.config.vision.maxPixels }), face);
      const name = `${String(i).padStart(3, '0')}-${path.parse(file).name.replace(/[^A-Za-z0-9._-]/g, '_')}.png`;
      await sharp(chip.data, { raw: { width: chip.width, height: chip.height, channels: 3 } })
        .png()
        .toFile(path.join(args.out, actor, name));
      actors[actor].push({ file: `${actor}/${name}`, source: file });
    }
  }
  const counts = Object.fromEntries(Object.entries(actors).map(([a, list]) => [a, list.length]));
  const images = Object.values(counts).reduce((a, b) => a + b, 0);
  if (images === 0) throw new RecognizerError('DATASET_INVALID', `no face was found in the photos under ${args.datasets.join(', ')}`);
  const index = {
    format: CROPS_FORMAT,
    crop: CHIP_CROP,
    width: CHIP_SIZE,
    height: CHIP_SIZE,
    colour: 'RGB',
    embedder: embedder.id,
    createdAt: new Date().toISOString(),
    datasets: args.datasets,
    seed,
    maxPerActor: args.maxPerActor ?? null,
    skipped,
    actors,
  };
  // Written last under a temporary name: a crops.json means the folder is complete.
  const tmp = path.join(args.out, `.crops.json.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(index, null, 2) + '\n');
  await rename(tmp, path.join(args.out, 'crops.json'));
  print(
    ctx.json,
    { out: args.out, actors: counts, images, skipped },
    `${images} face chips of ${Object.keys(counts).length} actors written to ${args.out}` +
      ` (skipped: ${skipped.noFace} without a face, ${skipped.unreadable} unreadable, ${skipped.duplicates + skipped.nearDuplicates} duplicates, ${skipped.disagreeing} whose faces disagree with the actor's other photos)`,
  );
}

/** Never writes into a folder holding anything: a typo in --out must not mix crops with other files. */
async function refuseNonEmpty(out: string): Promise<void> {
  const entries = await readdir(out).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw new RecognizerError('USAGE', `--out ${out} cannot be read: ${err.message}`);
  });
  if (entries.length > 0) throw new RecognizerError('USAGE', `--out ${out} is not empty: give a new folder for the crops`);
}
