// Builds an actor model bundle from a folder of photos per actor: embed, fit the head, write it.
import { createHash } from 'node:crypto';
import { classMeans, HEAD_INPUT, HEAD_OUTPUT, ncmHeadGraph } from '../recognize/ncm-head.js';
import type { Manifest } from '../recognize/manifest.js';
import { EMBEDDING_SIZE } from '../vision/types.js';
import { writeBundle } from './bundle-writer.js';
import { imagesBelow, scanDataset, seededShuffle } from './dataset.js';
import { FaceSource, largestFace } from './face-source.js';
import { chooseFaces, differenceHash, hammingDistance, NEAR_DUPLICATE_BITS, type Photo } from './select.js';
import { calibrateNcm, ncmConfusion, type OperatingPoint } from './thresholds.js';
import { precisionRecall, renderReport, type ReportData } from './report.js';
import { Progress } from '../util/progress.js';
import * as ort from 'onnxruntime-node';
import { MLP_DEFAULTS, mlpForward, mlpHeadGraph, trainMlp, type Samples } from './mlp-head.js';

export interface TrainOptions {
  datasets: string[];
  out: string;
  /** At most this many photos per actor, drawn with `seed`. */
  maxPerActor?: number;
  seed?: number;
  /** People with fewer usable photos than this are left out of the model. */
  minPerActor?: number;
  extractor: string;
  /** `ncm`: cosine nearest-class-mean (default, best with few photos); `mlp`: dense layers and softmax. */
  head?: 'ncm' | 'mlp';
  /** Faces of people who are not enrolled (any layout), used as extra impostors in calibration. */
  unknown?: string;
  /** Calibrate the threshold to reject this fraction of impostor faces; unset: the equal-error point. */
  rejectRate?: number;
}

export interface TrainSummary {
  version: string;
  actors: string[];
  images: number;
  metrics: Record<string, unknown>;
  skipped: { noFace: number; unreadable: number; duplicates: number; nearDuplicates: number; disagreeing: number; tooFewPhotos: string[] };
}

export async function trainModel(source: FaceSource, options: TrainOptions): Promise<TrainSummary> {
  const dataset = await scanDataset(options.datasets);
  const seed = options.seed ?? 1;
  const chosen = [...dataset].map(([actor, files]) => [actor, options.maxPerActor ? seededShuffle(files, seed).slice(0, options.maxPerActor) : files] as const);
  const progress = new Progress('embedding', chosen.reduce((n, [, f]) => n + f.length, 0));
  const skipped = { noFace: 0, unreadable: 0, duplicates: 0, nearDuplicates: 0, disagreeing: 0, tooFewPhotos: [] as string[] };
  const actors: string[] = [];
  const embeddings: Float32Array[][] = [];
  const hashes = createHash('sha256');
  const seen = new Set<string>();
  const looks: bigint[] = [];
  let images = 0;
  for (const [actor, files] of chosen) {
    const photos: Photo[] = [];
    for (const file of files) {
      const result = await source.faces(file);
      progress.tick();
      if (result.status === 'unreadable') skipped.unreadable++;
      else if (result.status === 'no-face') skipped.noFace++;
      else if (seen.has(result.hash)) skipped.duplicates++;
      else {
        seen.add(result.hash);
        const look = await differenceHash(result.bytes);
        if (looks.some((other) => hammingDistance(other, look) <= NEAR_DUPLICATE_BITS)) {
          skipped.nearDuplicates++;
          continue;
        }
        looks.push(look);
        photos.push({ id: result.hash, faces: result.faces });
      }
    }
    const { chosen: faces, disagreeing } = chooseFaces(photos);
    skipped.disagreeing += disagreeing.length;
    if (faces.length < (options.minPerActor ?? 1)) {
      skipped.tooFewPhotos.push(actor);
      continue;
    }
    for (const f of faces) hashes.update(f.id);
    actors.push(actor);
    embeddings.push(faces.map((f) => f.face.embedding));
    images += faces.length;
  }
  progress.finish();
  if (actors.length === 0) throw new Error('no actor has a usable photo');

  const strangers: Float32Array[] = [];
  for (const file of options.unknown ? await imagesBelow(options.unknown) : []) {
    const result = await source.faces(file);
    if (result.status === 'ok') strangers.push(largestFace(result.faces).embedding);
  }
  const fitted = options.head === 'mlp' ? await fitMlp(embeddings, seed) : fitNcm(embeddings, strangers, options.rejectRate);
  const threshold = fitted.threshold;
  const version = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}-${hashes.digest('hex').slice(0, 8)}`;
  const report: ReportData = { version, head: fitted.type, actors, threshold, ...fitted.report };
  const perActor = precisionRecall(actors, report.confusion);
  const metrics = {
    trainImages: images,
    threshold,
    operatingPoint: fitted.operatingPoint ?? null,
    head: fitted.metrics,
    perActor: Object.fromEntries(actors.map((a, i) => [a, { images: embeddings[i]!.length, ...perActor[a] }])),
    confusion: report.confusion,
  };
  const body: Omit<Manifest, 'format' | 'files'> = {
    version,
    kind: 'embedding-classifier',
    createdAt: new Date().toISOString(),
    actors,
    input: { type: 'embedding', name: HEAD_INPUT, size: EMBEDDING_SIZE, extractor: options.extractor },
    head: { type: fitted.type, graph: 'head.onnx', output: HEAD_OUTPUT, score: fitted.score },
    thresholds: { default: threshold, perActor: {}, ...(fitted.operatingPoint ? { operatingPoint: { ...fitted.operatingPoint } } : {}) },
    metrics,
    training: { head: fitted.type, hyperparameters: fitted.hyperparameters, datasets: options.datasets, maxPerActor: options.maxPerActor ?? null, seed, images, skipped },
  };
  await writeBundle(options.out, body, { 'head.onnx': fitted.graph, 'metrics.json': JSON.stringify(metrics, null, 2), 'report.html': renderReport(report) });
  return { version, actors, images, metrics, skipped };
}

interface FittedHead {
  type: string;
  score: 'cosine' | 'probability';
  graph: Uint8Array;
  threshold: number;
  operatingPoint?: OperatingPoint;
  hyperparameters: Record<string, unknown>;
  /** What the report plots: confusion, score distributions, curves. */
  report: Pick<ReportData, 'confusion' | 'genuine' | 'impostor' | 'histories'>;
  metrics: Record<string, unknown>;
}

function fitNcm(embeddings: Float32Array[][], strangers: Float32Array[], rejectRate: number | undefined): FittedHead {
  const means = classMeans(embeddings, EMBEDDING_SIZE);
  const { scores, ...operatingPoint } = calibrateNcm(embeddings, means, strangers, rejectRate);
  return {
    report: { confusion: ncmConfusion(embeddings, means), genuine: scores.genuine, impostor: scores.impostor },
    type: 'ncm-cosine',
    score: 'cosine',
    graph: ncmHeadGraph(means, EMBEDDING_SIZE),
    threshold: operatingPoint.threshold,
    operatingPoint,
    hyperparameters: { rejectRate: rejectRate ?? null, unknownFaces: strangers.length },
    metrics: {},
  };
}

/** Until the open-set calibration lands, a softmax head names its best actor above this probability. */
const MLP_PRIOR_THRESHOLD = 0.5;

/**
 * Trains the dense head twice, as the original report did: without dropout (for its curves) and
 * with it (the head that ships), on a seeded 80/20 split of each actor's photos; then checks that
 * the exported graph gives the in-memory model's answers within 1e-5.
 */
async function fitMlp(embeddings: Float32Array[][], seed: number): Promise<FittedHead> {
  const train: Samples = { x: [], y: [] };
  const val: Samples = { x: [], y: [] };
  embeddings.forEach((list, k) => {
    const shuffled = seededShuffle(list, seed + k);
    const held = list.length >= 5 ? Math.max(1, Math.round(list.length * 0.2)) : 0;
    shuffled.forEach((e, i) => {
      const into = i < held ? val : train;
      into.x.push(e);
      into.y.push(k);
    });
  });
  const hyperparameters = { ...MLP_DEFAULTS, seed };
  const plain = await trainMlp(train, val, embeddings.length, { ...hyperparameters, dropout: 0 });
  const probe = [...val.x, ...train.x];
  const shipped = await trainMlp(train, val, embeddings.length, hyperparameters, probe);
  const graph = mlpHeadGraph(shipped.weights);
  const maxAbsDiff = await exportDifference(graph, probe, shipped.probed);
  if (!(maxAbsDiff <= 1e-5)) throw new Error(`the exported head differs from the trained one by ${maxAbsDiff}`);
  // Report on the validation photos: what the shipped head answers, and how sure it is.
  const confusion = embeddings.map(() => new Array<number>(embeddings.length).fill(0));
  const genuine: number[] = [];
  const impostor: number[] = [];
  val.x.forEach((e, i) => {
    const p = mlpForward(shipped.weights, e);
    const best = p.indexOf(Math.max(...p));
    confusion[val.y[i]!]![best]!++;
    (best === val.y[i] ? genuine : impostor).push(p[best]!);
  });
  return {
    report: { confusion, genuine, impostor, histories: { withDropout: shipped.history, withoutDropout: plain.history } },
    type: 'mlp-softmax',
    score: 'probability',
    graph,
    threshold: MLP_PRIOR_THRESHOLD,
    hyperparameters,
    metrics: { history: { withDropout: shipped.history, withoutDropout: plain.history }, exportMaxAbsDiff: maxAbsDiff, trainSamples: train.x.length, valSamples: val.x.length },
  };
}

async function exportDifference(graph: Uint8Array, probe: Float32Array[], expected: Float32Array[]): Promise<number> {
  const session = await ort.InferenceSession.create(graph);
  try {
    const batch = new Float32Array(probe.length * EMBEDDING_SIZE);
    probe.forEach((e, i) => batch.set(e, i * EMBEDDING_SIZE));
    const out = (await session.run({ [HEAD_INPUT]: new ort.Tensor('float32', batch, [probe.length, EMBEDDING_SIZE]) }))[HEAD_OUTPUT]!.data as Float32Array;
    let worst = 0;
    expected.forEach((row, i) => row.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - out[i * row.length + k]!)))));
    return worst;
  } finally {
    await session.release();
  }
}
