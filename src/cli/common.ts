// What every command shares: the config, the face pipeline, and printing results.
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createFacePipeline, extractorId } from '../vision/create-backend.js';
import { faceApiVersion } from '../vision/face-api.js';
import { PIPELINE_REVISION, type FacePipeline } from '../vision/pipeline.js';
import { defaultCacheDir, EmbeddingCache } from '../train/embedding-cache.js';
import { FaceSource } from '../train/face-source.js';

export interface CommandContext {
  config: Config;
  json: boolean;
}

export function commandConfig(file: string | undefined): Config {
  return loadConfig({ file });
}

/** The pipeline plus a content-hash cache of the faces found in dataset photos. */
export async function datasetFaces(config: Config, options: { cache: boolean }): Promise<{ pipeline: FacePipeline; source: FaceSource; extractor: string }> {
  const pipeline = await createFacePipeline(config.vision);
  const key = `${pipeline.backend.name}-${config.vision.detector}-${config.vision.minScore}-faceapi${faceApiVersion()}-r${PIPELINE_REVISION}`;
  const cache = options.cache ? new EmbeddingCache(defaultCacheDir(), key) : undefined;
  const source = new FaceSource(pipeline, { cache, maxPixels: config.vision.maxPixels });
  return { pipeline, source, extractor: extractorId() };
}

/** With --json, the last line of stdout is one JSON object; otherwise a readable summary. */
export function print(json: boolean, value: unknown, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human}\n`);
}

export function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
