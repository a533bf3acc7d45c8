// A real actor model for tests, trained once per run on a few photos per person and shared.
import { loadConfig } from '../../src/config/load.js';
import { defaultCacheDir, EmbeddingCache } from '../../src/train/embedding-cache.js';
import { FaceSource } from '../../src/train/face-source.js';
import { trainModel } from '../../src/train/train.js';
import { createFacePipeline } from '../../src/vision/create-backend.js';
import type { FacePipeline } from '../../src/vision/pipeline.js';
import { faces } from './datasets.js';
import { builtOnce } from './test-cache.js';

let pipeline: Promise<FacePipeline> | undefined;

/**
 * One ONNX face pipeline per test process, with the default settings but one inference thread: tap
 * runs two files at once on two cores (test/helpers/cli.ts says what a second thread costs there).
 */
export function testPipeline(): Promise<FacePipeline> {
  pipeline ??= createFacePipeline({ ...loadConfig({ env: {} }).vision, threads: 1 });
  return pipeline;
}

/**
 * A bundle trained on `faces/five-celebrities/train` (at most `perActor` photos each), trained once for
 * the whole run and shared: copy it before changing anything in it.
 */
export function fiveCelebritiesModel(perActor = 8): Promise<string> {
  return builtOnce(`five-celebrities-${perActor}`, async (out) => {
    const p = await testPipeline();
    const cache = new EmbeddingCache(defaultCacheDir(), `${p.revision}-test`);
    const source = new FaceSource(p, { cache, maxPixels: 40_000_000 });
    await trainModel(source, { datasets: [faces('five-celebrities', 'train')], out, maxPerActor: perActor, embedder: p.embedder.spec });
  });
}
