// What every command shares: the config, the face pipeline, and printing results.
import { existsSync } from 'node:fs';
import { RecognizerError } from '../errors.js';
import { activeBundle } from '../models/disk.js';
import { usableStarter } from '../models/starter.js';
import { FixedModel } from '../recognize/fixed-model.js';
import type { Config } from '../config/schema.js';
import { createFacePipeline } from '../vision/create-backend.js';
import { faceApiVersion } from '../vision/face-api.js';
import { embedderSpec, type EmbedderSpec } from '../vision/embedder.js';
import type { FacePipeline } from '../vision/pipeline.js';
import { defaultCacheDir, EmbeddingCache } from '../train/embedding-cache.js';
import { FaceSource } from '../train/face-source.js';
import { readCohort, type CohortFace } from '../train/cohort.js';

export interface CommandContext {
  config: Config;
  json: boolean;
}

export { commandConfig } from './command.js';

/** The pipeline plus a content-hash cache of the faces found in dataset photos. */
export async function datasetFaces(
  config: Config,
  options: { cache: boolean },
): Promise<{ pipeline: FacePipeline; source: FaceSource; embedder: EmbedderSpec }> {
  const pipeline = await createFacePipeline(config.vision);
  const cache = options.cache ? new EmbeddingCache(defaultCacheDir(), faceCacheKey(pipeline.revision, config.vision)) : undefined;
  const source = new FaceSource(pipeline, { cache, maxPixels: config.vision.maxPixels });
  return { pipeline, source, embedder: pipeline.embedder.spec };
}

/**
 * The key of the dataset face cache: everything that changes the faces found in a photo or in
 * eval --face-sizes' 640×360 frames. The detector's side and face limit move a photo's whole pass,
 * and the second look's zoom the frames' small faces; without them a changed setting read the faces
 * found under the old one. `revision` is the pipeline's (FacePipeline.revision), which names the
 * compiled graphs too: a face cache written before the int8 SSD's input became bytes, under the same
 * key, gave a photo's crops other boxes than the daemon found (resnet50-torch).
 */
export function faceCacheKey(revision: string, vision: Pick<Config['vision'], 'detector' | 'minScore' | 'detectorSide' | 'tileZoom' | 'maxFaces'>): string {
  const { detector, minScore, detectorSide, tileZoom, maxFaces } = vision;
  return `${revision}-${detector}-${minScore}-side${detectorSide}-zoom${tileZoom}-max${maxFaces}-faceapi${faceApiVersion()}`;
}

/**
 * The embedder's cohort of strangers for calibration; without one (a checkout that never built it,
 * another embedder) training goes on with the strangers it has, and says so.
 */
export async function trainingCohort(embedder: EmbedderSpec): Promise<CohortFace[]> {
  const cohort = await readCohort(embedder);
  if ('missing' in cohort) {
    process.stderr.write(`actor-recognizer: calibrating without a cohort of strangers: ${cohort.missing}\n`);
    return [];
  }
  return cohort.faces;
}

/**
 * The model a command answers with, the one the daemon would run: `--model` (a bundle, or a store:
 * its active version), by default the configured model.dir; a store holding no bundle gives the
 * starter model, as the daemon runs it. Nothing at all: MODEL_NOT_FOUND, or with `optional` (for
 * recognize, which still finds faces) no model and a note on stderr that every face is unknown.
 */
export async function commandModel(config: Config, arg: string | undefined, options: { optional?: boolean } = {}): Promise<FixedModel> {
  const dir = arg ?? config.model.dir;
  if (arg !== undefined && !existsSync(arg)) throw new RecognizerError('MODEL_NOT_FOUND', `--model ${arg}: no such bundle or model store`);
  const bundle = (await activeBundle(dir)) ?? (await starterOf(config, dir));
  if (bundle) return FixedModel.load(bundle, { threads: config.vision.threads, embedder: embedderSpec(config.vision.embedder) });
  const why = `no actor model in ${dir}: train one (actor-recognizer train --dataset DIR --out ${dir}/first) or pass --model`;
  if (!options.optional) throw new RecognizerError('MODEL_NOT_FOUND', why);
  process.stderr.write(`actor-recognizer: ${why}; every face is unknown\n`);
  return FixedModel.load(undefined);
}

async function starterOf(config: Config, dir: string): Promise<string | undefined> {
  const starter = await usableStarter(config);
  if (!('dir' in starter)) return undefined;
  process.stderr.write(`actor-recognizer: ${dir} holds no model: answering with the starter model of well-known actors, as the daemon would\n`);
  return starter.dir;
}

/** With --json, the last line of stdout is one JSON object; otherwise a readable summary. */
export function print(json: boolean, value: unknown, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human}\n`);
}

export function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
