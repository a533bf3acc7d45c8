// Builds an actor model bundle from a folder of photos per actor: embed, fit the head, write it.
import { createHash } from 'node:crypto';
import { classMeans, HEAD_INPUT, HEAD_OUTPUT, ncmHeadGraph } from '../recognize/ncm-head.js';
import type { Manifest } from '../recognize/manifest.js';
import { EMBEDDING_SIZE } from '../vision/types.js';
import { writeBundle } from './bundle-writer.js';
import { scanDataset, seededShuffle } from './dataset.js';
import { FaceSource, largestFace } from './face-source.js';
import { pooledThreshold } from './thresholds.js';
import { Progress } from '../util/progress.js';

export interface TrainOptions {
  datasets: string[];
  out: string;
  /** At most this many photos per actor, drawn with `seed`. */
  maxPerActor?: number;
  seed?: number;
  /** People with fewer usable photos than this are left out of the model. */
  minPerActor?: number;
  extractor: string;
}

export interface TrainSummary {
  version: string;
  actors: string[];
  images: number;
  metrics: Record<string, unknown>;
  skipped: { noFace: number; unreadable: number; tooFewPhotos: string[] };
}

export async function trainModel(source: FaceSource, options: TrainOptions): Promise<TrainSummary> {
  const dataset = await scanDataset(options.datasets);
  const seed = options.seed ?? 1;
  const chosen = [...dataset].map(([actor, files]) => [actor, options.maxPerActor ? seededShuffle(files, seed).slice(0, options.maxPerActor) : files] as const);
  const progress = new Progress('embedding', chosen.reduce((n, [, f]) => n + f.length, 0));
  const skipped = { noFace: 0, unreadable: 0, tooFewPhotos: [] as string[] };
  const actors: string[] = [];
  const embeddings: Float32Array[][] = [];
  const hashes = createHash('sha256');
  let images = 0;
  for (const [actor, files] of chosen) {
    const list: Float32Array[] = [];
    for (const file of files) {
      const result = await source.faces(file);
      progress.tick();
      if (result.status === 'unreadable') skipped.unreadable++;
      else if (result.status === 'no-face') skipped.noFace++;
      else {
        list.push(largestFace(result.faces).embedding);
        hashes.update(result.hash);
      }
    }
    if (list.length < (options.minPerActor ?? 1)) {
      skipped.tooFewPhotos.push(actor);
      continue;
    }
    actors.push(actor);
    embeddings.push(list);
    images += list.length;
  }
  progress.finish();
  if (actors.length === 0) throw new Error('no actor has a usable photo');

  const means = classMeans(embeddings, EMBEDDING_SIZE);
  const threshold = pooledThreshold(embeddings, means);
  const version = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}-${hashes.digest('hex').slice(0, 8)}`;
  const metrics = { trainImages: images, threshold, perActor: Object.fromEntries(actors.map((a, i) => [a, { images: embeddings[i]!.length }])) };
  const body: Omit<Manifest, 'format' | 'files'> = {
    version,
    kind: 'embedding-classifier',
    createdAt: new Date().toISOString(),
    actors,
    input: { type: 'embedding', name: HEAD_INPUT, size: EMBEDDING_SIZE, extractor: options.extractor },
    head: { type: 'ncm-cosine', graph: 'head.onnx', output: HEAD_OUTPUT, score: 'cosine' },
    thresholds: { default: threshold, perActor: {} },
    metrics,
    training: { datasets: options.datasets, maxPerActor: options.maxPerActor ?? null, seed, images, skipped },
  };
  await writeBundle(options.out, body, { 'head.onnx': ncmHeadGraph(means, EMBEDDING_SIZE), 'metrics.json': JSON.stringify(metrics, null, 2) });
  return { version, actors, images, metrics, skipped };
}
