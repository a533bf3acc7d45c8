// ResNet50 bundles (image classifiers): loaded, fed chips as their contract says, refused when malformed. The
// recipe end to end, with PyTorch training: test/slow/resnet50-torch.test.ts.
import { mkdtemp as makeTemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { isRecognizerError } from '../src/errors.js';
import { ActorModel } from '../src/recognize/actor-model.js';
import { imageTensor } from '../src/recognize/image-classifier.js';
import type { ImageContract, Manifest } from '../src/recognize/manifest.js';
import { writeBundle } from '../src/recognize/bundle-writer.js';
import { GraphBuilder } from '../src/onnx/writer.js';
import type { RgbImage } from '../src/vision/types.js';
import { worstDifference } from './helpers/differences.js';

const ACTORS = ['Ada Lovelace', 'Alan Turing', 'Grace Hopper'];
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

// Every folder made here goes when the tests end.
const made: string[] = [];
t.teardown(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));
async function mkdtemp(prefix: string): Promise<string> {
  made.push(await makeTemp(prefix));
  return made.at(-1)!;
}

/** A stand-in image classifier: each actor's score is the softmax of one channel's mean normalised value. */
function channelMeanGraph(side: number): Uint8Array {
  const g = new GraphBuilder('channel_mean_classifier');
  g.input('image', 'float32', ['batch', 3, side, side]);
  const pooled = g.op('GlobalAveragePool', ['image']);
  const flat = g.op('Flatten', [pooled], { axis: 1 });
  g.op('Softmax', [flat], { axis: 1 }, 'probabilities');
  g.output('probabilities', 'float32', ['batch', 3]);
  return g.toModel({ opset: 13 });
}

function imageBody(input: Record<string, unknown>): Omit<Manifest, 'format' | 'files'> {
  return {
    version: 'image-1',
    kind: 'image-classifier',
    createdAt: new Date().toISOString(),
    actors: ACTORS,
    input: {
      type: 'image',
      name: 'image',
      width: 224,
      height: 224,
      layout: 'NCHW',
      colour: 'RGB',
      ...IMAGENET,
      crop: 'dlib-chip-150',
      ...input,
    } as Manifest['input'],
    head: { type: 'channel-mean', graph: 'model.onnx', output: 'probabilities', score: 'probability' },
    thresholds: { default: 0.5, perActor: {} },
  };
}

async function imageBundle(input: Record<string, unknown> = {}, omit: string[] = []): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-image-'));
  const manifest = await writeBundle(dir, imageBody(input), { 'model.onnx': channelMeanGraph(224) });
  const edited = { ...manifest, input: Object.fromEntries(Object.entries(manifest.input).filter(([k]) => !omit.includes(k))) };
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(edited));
  return dir;
}

async function refusal(dir: string): Promise<string> {
  try {
    await (await ActorModel.load(dir)).release();
    return 'loaded';
  } catch (err) {
    return isRecognizerError(err) ? `${err.code}: ${err.message}` : String(err);
  }
}

function uniformChip(rgb: [number, number, number]): RgbImage {
  const data = new Uint8Array(150 * 150 * 3);
  for (let i = 0; i < data.length; i++) data[i] = rgb[i % 3]!;
  return { data, width: 150, height: 150 };
}

function softmax(v: number[]): number[] {
  const e = v.map((x) => Math.exp(x - Math.max(...v)));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

t.test('an image classifier bundle loads, and chips are resized, normalised and ordered as its contract says', async (t) => {
  const chip = uniformChip([200, 120, 40]);
  for (const colour of ['RGB', 'BGR'] as const) {
    const model = await ActorModel.load(await imageBundle({ colour }));
    const [row] = await model.chipScores([chip]);
    // Channel k holds the contract's k-th colour, normalised with mean[k] and std[k].
    const values = colour === 'RGB' ? [200, 120, 40] : [40, 120, 200];
    const expected = softmax(values.map((v, k) => (v / 255 - IMAGENET.mean[k]!) / IMAGENET.std[k]!));
    // Within float32 rounding of a 224×224 average.
    const worst = worstDifference([row!], [expected]);
    t.ok(worst < 1e-4, `${colour}: ${Array.from(row!).map((p) => p.toFixed(5))}, off by ${worst.toExponential(1)}`);
    t.equal(model.takesChips, true);
    const [named] = await model.classifyFaces([{ embedding: new Float32Array(128), chip }]);
    t.equal(named!.candidates.length, 3);
    await t.rejects(model.classify([new Float32Array(128)]), /classifies aligned face chips/, 'embeddings are refused with a clear error');
    await model.release();
  }
});

t.test('chips are resized with half-pixel centres, as PyTorch interpolates (align_corners=False)', async (t) => {
  // A ramp: red is the column, green the row. Bilinear sampling of a ramp gives the source position.
  const data = new Uint8Array(150 * 150 * 3);
  for (let y = 0; y < 150; y++) for (let x = 0; x < 150; x++) data.set([x, y, 0], (y * 150 + x) * 3);
  const contract = { ...imageBody({}).input, mean: [0, 0, 0], std: [1, 1, 1] } as ImageContract;
  const values = imageTensor([{ data, width: 150, height: 150 }], contract).data as Float32Array;
  const source = (i: number) => Math.min(Math.max((i + 0.5) * (150 / 224) - 0.5, 0), 149) / 255;
  let worst = 0;
  for (const i of [0, 1, 100, 222, 223]) {
    worst = Math.max(worst, Math.abs(values[7 * 224 + i]! - source(i)), Math.abs(values[224 * 224 + i * 224 + 7]! - source(i)));
  }
  t.ok(worst < 1e-6, `columns and rows sampled where PyTorch samples them (off by ${worst.toExponential(1)})`);
  t.equal(values.length, 3 * 224 * 224);
});

t.test('a malformed image-classifier manifest is refused with a clear error', async (t) => {
  t.match(
    await refusal(await imageBundle({ width: 200, height: 200 })),
    /MODEL_GRAPH_INVALID: .*\[batch, 3, 224, 224\].*200×200/,
    'input size other than the graph takes',
  );
  t.match(await refusal(await imageBundle({}, ['mean'])), /MODEL_MANIFEST_INVALID: .*\/input\/mean/, 'no mean');
  t.match(await refusal(await imageBundle({}, ['std'])), /MODEL_MANIFEST_INVALID: .*\/input\/std/, 'no std');
  t.match(await refusal(await imageBundle({ std: [0.2, 0, 0.2] })), /MODEL_MANIFEST_INVALID: .*\/input\/std\/1/, 'a zero std');
  t.match(await refusal(await imageBundle({ crop: 'arcface-112' })), /MODEL_MANIFEST_INVALID: .*\/input\/crop/, 'a crop the daemon does not cut');
  t.match(await refusal(await imageBundle({ width: 8 })), /MODEL_MANIFEST_INVALID: .*\/input\/width/, 'a width too small');
  t.match(await refusal(await imageBundle({ type: 'embedding' })), /MODEL_MANIFEST_INVALID: .*\/input\/type/, 'an embedding input under kind image-classifier');
  t.equal(await refusal(await imageBundle()), 'loaded', 'the same bundle, well formed, loads');
});
