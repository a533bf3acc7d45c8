// The two heads over the face embedding: fitted on the training split, calibrated on validation and
// held-out identities, measured on the test split, then refitted on every face for the bundle.
import * as ort from 'onnxruntime-node';
import { classMeans, cosine, HEAD_INPUT, HEAD_OUTPUT, ncmHeadGraph } from '../recognize/ncm-head.js';
import { seededShuffle } from './dataset.js';
import { MLP_DEFAULTS, mlpForward, mlpHeadGraph, trainMlp, type History, type MlpWeights, type Samples } from './mlp-head.js';
import type { Split } from './split.js';
import {
  calibrate,
  confusion,
  heldOutImpostors,
  ncmGenuine,
  operatingPoint,
  SCORE_SCALES,
  unknownImpostors,
  type Calibration,
  type GenuineScore,
  type ImpostorScore,
} from './thresholds.js';
import { trackThreshold } from './track-threshold.js';

export interface HeadInput {
  actors: string[];
  /** Each actor's embeddings, split. */
  split: Split<Float32Array[]>;
  /** Faces of people who are not enrolled, with who they are (their folder) when known. */
  unknown: { identity: string; embedding: Float32Array }[];
  /** Reject this fraction of each impostor's faces for this fraction of impostors; unset: equal-error. */
  rejectRate?: number;
  seed: number;
  /** The cosine range and prior of the embedder (EmbedderTuning.scores); face-api's when absent. */
  scale?: { range: readonly [number, number]; prior: number };
}

/** The head measured on the test split, which neither fitting nor calibration saw. */
export interface TestMetrics {
  faces: number;
  /** Named correctly (right actor, over its threshold). */
  top1: number;
  /** Right actor, whatever the threshold. */
  closedSetTop1: number;
  /** Test faces of each actor held out as an impostor against the others. */
  impostorFaces: number;
  impostorsRejected: number;
}

export interface FittedHead {
  type: 'ncm-cosine' | 'mlp-softmax';
  score: 'cosine' | 'probability';
  /** The shipped graph, fitted on every face. */
  graph: Uint8Array;
  calibration: Calibration;
  test: TestMetrics | null;
  hyperparameters: Record<string, unknown>;
  /** What the report plots. */
  report: { confusion: number[][]; genuine: number[]; impostor: number[]; histories?: { withDropout: History; withoutDropout: History } };
  metrics: Record<string, unknown>;
}

/** The length of the embeddings in a split (the embedder's size). */
function embeddingSize(split: Split<Float32Array[]>): number {
  const first = [...split.train, ...split.validation, ...split.test].find((list) => list.length > 0)?.[0];
  if (!first) throw new Error('no embedding to fit a head on');
  return first.length;
}

const all = (split: Split<Float32Array[]>, k: number) => [...split.train[k]!, ...split.validation[k]!, ...split.test[k]!];

export async function fitNcm(input: HeadInput): Promise<FittedHead> {
  const { actors, split, unknown, rejectRate } = input;
  const size = embeddingSize(split);
  const fitted = classMeans(split.train, size);
  const genuine = ncmGenuine(split.validation, fitted);
  const scale = input.scale ?? SCORE_SCALES.cosine;
  const calibration = calibrate(
    genuine,
    [
      ...heldOutImpostors(
        actors,
        split.train.map((t, k) => [...t, ...split.validation[k]!]),
        fitted,
      ),
      ...unknownImpostors(unknown, fitted),
    ],
    actors.length,
    rejectRate,
    scale,
  );
  const testGenuine = ncmGenuine(split.test, fitted);
  const test = testMetrics(testGenuine, heldOutImpostors(actors, split.test, fitted), calibration);
  // The bundle's means use every face; its thresholds are calibrated again on them, since a mean of
  // more photos sits closer to its actor's faces and, a little, to everyone else's.
  const means = classMeans(
    actors.map((_, k) => all(split, k)),
    size,
  );
  const impostors = [
    ...heldOutImpostors(
      actors,
      actors.map((_, k) => all(split, k)),
      means,
    ),
    ...unknownImpostors(unknown, means),
  ];
  const shipped = calibrate(genuine, impostors, actors.length, rejectRate, scale);
  const identities = new Map<string, { faces: Float32Array[]; own: number }>(actors.map((a, k) => [a, { faces: all(split, k), own: k }]));
  for (const u of unknown) {
    const entry = identities.get(`unknown:${u.identity}`) ?? { faces: [], own: -1 };
    entry.faces.push(u.embedding);
    identities.set(`unknown:${u.identity}`, entry);
  }
  const track = trackThreshold(identities, means);
  const graph = ncmHeadGraph(means, size);
  const probe = actors.flatMap((_, k) => all(split, k));
  const maxAbsDiff = await exportDifference(
    graph,
    probe,
    probe.map((e) => Float32Array.from(means, (m) => cosine(e, m))),
  );
  if (!(maxAbsDiff <= 1e-5)) throw new Error(`the exported head differs from the cosines by ${maxAbsDiff}`);
  return {
    type: 'ncm-cosine',
    score: 'cosine',
    graph,
    calibration: {
      ...shipped,
      ...(track === undefined ? {} : { track }),
      point: operatingPoint(genuine, impostors, shipped.perActor, shipped.default, rejectRate),
    },
    test,
    hyperparameters: { rejectRate: rejectRate ?? null, unknownFaces: unknown.length },
    report: {
      confusion: confusion(actors.length, testGenuine.length ? testGenuine : genuine),
      genuine: genuine.map((g) => g.score),
      impostor: impostors.map((i) => i.score),
    },
    metrics: { exportMaxAbsDiff: maxAbsDiff },
  };
}

/**
 * Trains the dense head as the original report did: without dropout (for its curves) and with it
 * (the head that ships), each on the training split with the validation split for its curves.
 * Impostors for calibration come from heads trained with a fold of actors left out; the shipped
 * head is trained again on every face and checked against its ONNX export within 1e-5.
 */
export async function fitMlp(input: HeadInput): Promise<FittedHead> {
  const { actors, split, unknown, rejectRate, seed } = input;
  const hyperparameters = { ...MLP_DEFAULTS, seed };
  const train = samples(split.train);
  const val = samples(split.validation);
  const plain = await trainMlp(train, val, actors.length, { ...hyperparameters, dropout: 0 });
  const fitted = await trainMlp(train, val, actors.length, hyperparameters);
  const genuine = mlpGenuine(fitted.weights, split.validation);
  const { calibrationImpostors, testImpostors } = await heldOutFolds(input, hyperparameters);
  const unknownScores = unknown.map((u) => ({ identity: `unknown:${u.identity}`, ...best(mlpForward(fitted.weights, u.embedding)) }));
  const calibration = calibrate(genuine, [...calibrationImpostors, ...unknownScores], actors.length, rejectRate, SCORE_SCALES.probability);
  const testGenuine = mlpGenuine(fitted.weights, split.test);
  const test = testMetrics(testGenuine, testImpostors, calibration);

  const everything = samples(actors.map((_, k) => all(split, k)));
  const probe = everything.x;
  const shipped = await trainMlp(everything, { x: [], y: [] }, actors.length, hyperparameters, probe);
  const graph = mlpHeadGraph(shipped.weights);
  const maxAbsDiff = await exportDifference(graph, probe, shipped.probed);
  if (!(maxAbsDiff <= 1e-5)) throw new Error(`the exported head differs from the trained one by ${maxAbsDiff}`);
  return {
    type: 'mlp-softmax',
    score: 'probability',
    graph,
    calibration,
    test,
    hyperparameters,
    report: {
      confusion: confusion(actors.length, testGenuine.length ? testGenuine : genuine),
      genuine: genuine.map((g) => g.score),
      impostor: [...calibrationImpostors, ...unknownScores].map((i) => i.score),
      histories: { withDropout: fitted.history, withoutDropout: plain.history },
    },
    metrics: {
      history: { withDropout: fitted.history, withoutDropout: plain.history },
      exportMaxAbsDiff: maxAbsDiff,
      trainSamples: train.x.length,
      valSamples: val.x.length,
    },
  };
}

/** Folds of actors left out in turn: a head trained on the others scores the left-out actors' faces as impostors. */
async function heldOutFolds(input: HeadInput, hyperparameters: typeof MLP_DEFAULTS & { seed: number }) {
  const { actors, split, seed } = input;
  const calibrationImpostors: ImpostorScore[] = [];
  const testImpostors: ImpostorScore[] = [];
  if (actors.length < 3) return { calibrationImpostors, testImpostors };
  const folds = Math.min(4, actors.length);
  const order = seededShuffle(
    actors.map((_, k) => k),
    seed,
  );
  for (let f = 0; f < folds; f++) {
    const out = new Set(order.filter((_, i) => i % folds === f));
    const kept = actors.map((_, k) => k).filter((k) => !out.has(k));
    const head = await trainMlp(samples(kept.map((k) => split.train[k]!)), { x: [], y: [] }, kept.length, hyperparameters);
    const score = (k: number, faces: Float32Array[], into: ImpostorScore[]) => {
      for (const e of faces) {
        const b = best(mlpForward(head.weights, e));
        into.push({ identity: actors[k]!, actor: kept[b.actor]!, score: b.score });
      }
    };
    for (const k of out) {
      score(k, [...split.train[k]!, ...split.validation[k]!], calibrationImpostors);
      score(k, split.test[k]!, testImpostors);
    }
  }
  return { calibrationImpostors, testImpostors };
}

function testMetrics(genuine: GenuineScore[], impostors: ImpostorScore[], calibration: Calibration): TestMetrics | null {
  if (genuine.length === 0) return null;
  const point = operatingPoint(genuine, impostors, calibration.perActor, calibration.default);
  return {
    faces: genuine.length,
    top1: point.genuineAccepted,
    closedSetTop1: genuine.filter((g) => g.predicted === g.actor).length / genuine.length,
    impostorFaces: impostors.length,
    impostorsRejected: point.impostorsRejected,
  };
}

function samples(byClass: readonly (readonly Float32Array[])[]): Samples {
  return { x: byClass.flat(), y: byClass.flatMap((list, k) => list.map(() => k)) };
}

function mlpGenuine(weights: MlpWeights, byClass: readonly (readonly Float32Array[])[]): GenuineScore[] {
  return byClass.flatMap((list, k) =>
    list.map((e) => {
      const b = best(mlpForward(weights, e));
      return { actor: k, predicted: b.actor, score: b.score };
    }),
  );
}

function best(p: Float32Array): { actor: number; score: number } {
  let actor = 0;
  p.forEach((v, i) => {
    if (v > p[actor]!) actor = i;
  });
  return { actor, score: p[actor]! };
}

async function exportDifference(graph: Uint8Array, probe: Float32Array[], expected: Float32Array[]): Promise<number> {
  const session = await ort.InferenceSession.create(graph);
  try {
    const size = probe[0]?.length ?? 0;
    const batch = new Float32Array(probe.length * size);
    probe.forEach((e, i) => batch.set(e, i * size));
    const out = (await session.run({ [HEAD_INPUT]: new ort.Tensor('float32', batch, [probe.length, size]) }))[HEAD_OUTPUT]!.data as Float32Array;
    let worst = 0;
    expected.forEach((row, i) => row.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - out[i * row.length + k]!)))));
    return worst;
  } finally {
    await session.release();
  }
}
