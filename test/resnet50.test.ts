// The original ResNet50 recipe: the daemon's chips exported, PyTorch training, and the daemon running the bundle.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp as makeTemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { buildApp } from '../src/api/app.js';
import { isRecognizerError } from '../src/errors.js';
import { silentLogger } from '../src/logger.js';
import { loadVerified } from '../src/models/verified-model.js';
import { ActorModel } from '../src/recognize/actor-model.js';
import { imageTensor } from '../src/recognize/image-classifier.js';
import type { ImageContract, Manifest } from '../src/recognize/manifest.js';
import { Recognizer } from '../src/recognize/recognizer.js';
import { writeBundle } from '../src/recognize/bundle-writer.js';
import { GraphBuilder } from '../src/onnx/writer.js';
import { decodeImage } from '../src/vision/decode.js';
import type { RgbImage } from '../src/vision/types.js';
import { cliJson } from './helpers/cli.js';
import { datasetsMissing, faces, linkSplit, pooledPeople, ROOT } from './helpers/datasets.js';
import { testPipeline } from './helpers/models.js';

const run = promisify(execFile);
const RECIPE = path.join(ROOT, 'training', 'resnet50');
const ACTORS = ['Ada Lovelace', 'Alan Turing', 'Grace Hopper'];
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
const LIMIT = { maxPixels: 40_000_000 };

// A trained bundle and its state_dict are 200 MB: every folder made here goes when the tests end.
const made: string[] = [];
t.teardown(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));
async function mkdtemp(prefix: string): Promise<string> {
  made.push(await makeTemp(prefix));
  return made.at(-1)!;
}

/** The interpreter that has Debian's python3-torch and python3-torchvision (not necessarily the one on PATH). */
function torchPython(): string | undefined {
  for (const python of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(python, ['-c', 'import torch, torchvision'], { stdio: 'ignore', timeout: 60_000 });
      return python;
    } catch {
      // Not this one; try the next.
    }
  }
  return undefined;
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
    input: { type: 'image', name: 'image', width: 224, height: 224, layout: 'NCHW', colour: 'RGB', ...IMAGENET, crop: 'dlib-chip-150', ...input } as Manifest['input'],
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

function worstDifference(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  let worst = 0;
  a.forEach((row, i) => Array.from(row).forEach((v, k) => (worst = Math.max(worst, Math.abs(v - b[i]![k]!)))));
  return worst;
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
  t.match(await refusal(await imageBundle({ width: 200, height: 200 })), /MODEL_GRAPH_INVALID: .*\[batch, 3, 224, 224\].*200×200/, 'input size other than the graph takes');
  t.match(await refusal(await imageBundle({}, ['mean'])), /MODEL_MANIFEST_INVALID: .*\/input\/mean/, 'no mean');
  t.match(await refusal(await imageBundle({}, ['std'])), /MODEL_MANIFEST_INVALID: .*\/input\/std/, 'no std');
  t.match(await refusal(await imageBundle({ std: [0.2, 0, 0.2] })), /MODEL_MANIFEST_INVALID: .*\/input\/std\/1/, 'a zero std');
  t.match(await refusal(await imageBundle({ crop: 'arcface-112' })), /MODEL_MANIFEST_INVALID: .*\/input\/crop/, 'a crop the daemon does not cut');
  t.match(await refusal(await imageBundle({ width: 8 })), /MODEL_MANIFEST_INVALID: .*\/input\/width/, 'a width too small');
  t.match(await refusal(await imageBundle({ type: 'embedding' })), /MODEL_MANIFEST_INVALID: .*\/input\/type/, 'an embedding input under kind image-classifier');
  t.equal(await refusal(await imageBundle()), 'loaded', 'the same bundle, well formed, loads');
});

const missing = datasetsMissing();
const python = missing ? undefined : torchPython();
const skip = missing ?? (python ? undefined : 'no python3 with torch and torchvision (Debian: apt-get install python3-torch python3-torchvision): skipped');

t.test('crops, one epoch of PyTorch training, and the daemon give the same probabilities within 1e-4', { skip }, async (t) => {
  const people = await pooledPeople([faces('five-celebrities', 'train')]);
  const three = new Map(['Ben Affleck', 'Madonna', 'Mindy Kaling'].map((p) => [p, people.get(p)!]));
  const split = await linkSplit(three, { trainPer: 4, testCap: 1, minPhotos: 5, seed: 3 });
  made.push(path.dirname(split.train));
  const work = await mkdtemp(path.join(os.tmpdir(), 'ar-resnet50-'));
  const [crops, bundle, state] = ['crops', 'bundle', 'model.pt'].map((p) => path.join(work, p)) as [string, string, string];

  let started = performance.now();
  const exported = await cliJson<{ actors: Record<string, number>; images: number }>(['crops', '--dataset', split.train, '--out', crops]);
  t.same(Object.keys(exported.actors), [...three.keys()], 'a folder of crops per actor');
  t.ok(exported.images >= 10, `${exported.images} crops of 12 photos, in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const index = JSON.parse(await readFile(path.join(crops, 'crops.json'), 'utf8')) as { actors: Record<string, { file: string; source: string }[]> };
  const entries = Object.values(index.actors).flat();
  const files = entries.map((e) => path.join(crops, e.file));
  const chips = await Promise.all(files.map(async (f) => decodeImage(await readFile(f), LIMIT)));
  t.ok(chips.every((c) => c.width === 150 && c.height === 150), 'the 150×150 aligned chips');

  started = performance.now();
  const trained = await run(python!, [path.join(RECIPE, 'train.py'), '--crops', crops, '--out', bundle, '--epochs', '1', '--threads', '2', '--save-state', state, '--json'], { timeout: 600_000, maxBuffer: 16 << 20 });
  t.match(trained.stdout, /epoch 1\/1 - loss [\d.]+ - accuracy [\d.]+ - val_loss/, `a line per epoch; trained and exported in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const summary = JSON.parse(trained.stdout.trim().split('\n').pop()!) as { version: string; actors: string[] };
  t.same(summary.actors, [...three.keys()]);

  const model = await loadVerified(bundle, { threads: 2 });
  t.teardown(() => model.release());
  t.equal(model.version, summary.version);
  t.equal(model.manifest.kind, 'image-classifier');
  const daemon = await model.chipScores(chips);
  const predicted = await run(python!, [path.join(RECIPE, 'predict.py'), '--bundle', bundle, '--state', state, '--threads', '2', ...files], { timeout: 600_000, maxBuffer: 16 << 20 });
  const torch = (JSON.parse(predicted.stdout) as { results: { probabilities: number[] }[] }).results.map((r) => r.probabilities);
  const worst = worstDifference(daemon, torch);
  t.ok(worst < 1e-4, `the daemon's probabilities are PyTorch's within ${worst.toExponential(2)} (${files.length} crops × 3 actors)`);
  // The comparison can fail: the crops get clearly different answers, and a wrong colour order moves them.
  const spread = worstDifference(torch, torch.map(() => torch[0]!));
  t.ok(spread > 0.01, `the probabilities differ between crops by up to ${spread.toFixed(3)}`);
  const swapped = await mkdtemp(path.join(os.tmpdir(), 'ar-bgr-'));
  for (const file of ['model.onnx', 'metrics.json']) await symlink(path.join(bundle, file), path.join(swapped, file));
  const manifest = JSON.parse(await readFile(path.join(bundle, 'manifest.json'), 'utf8')) as Manifest;
  await writeFile(path.join(swapped, 'manifest.json'), JSON.stringify({ ...manifest, input: { ...manifest.input, colour: 'BGR' } }));
  const bgr = await ActorModel.load(swapped, { threads: 2 });
  const off = worstDifference(await bgr.chipScores(chips), torch);
  await bgr.release();
  t.ok(off > 1e-3, `fed in the wrong colour order the daemon is off by ${off.toFixed(4)}`);

  // The daemon cuts the same chips from the photos themselves: the same answers, through the recognizer.
  const recognizer = new Recognizer(await testPipeline(), { current: () => model }, LIMIT);
  let compared = 0;
  for (const [i, entry] of entries.entries()) {
    const { faces: found } = await recognizer.nameFaces(await decodeImage(await readFile(entry.source), LIMIT), { fallback: 'face-crop' });
    if (found.length !== 1) continue;
    const scores = Object.fromEntries(found[0]!.candidates.map((c) => [c.actor, c.score]));
    t.ok(worstDifference([summary.actors.map((a) => scores[a]!)], [torch[i]!]) < 1e-4, `${entry.file}: the photo is named as its crop`);
    compared++;
  }
  t.ok(compared >= 6, `${compared} single-face photos compared`);

  const app = await buildApp(
    { recognizer, models: { current: () => model, currentSource: () => bundle }, notReady: () => [] },
    { bodyLimitBytes: 20 << 20, logger: silentLogger(), version: 'test' },
  );
  t.teardown(() => app.close());
  const person = (await readdir(split.test))[0]!;
  const photo = await readFile(path.join(split.test, person, (await readdir(path.join(split.test, person)))[0]!));
  const res = await app.inject({ method: 'POST', url: '/v1/recognize', payload: photo, headers: { 'content-type': 'image/jpeg' } });
  t.equal(res.statusCode, 200);
  const answer = res.json() as { faces: { candidates: { actor: string; score: number }[] }[]; model: { version: string } };
  t.equal(answer.model.version, summary.version, 'answered by the ResNet50 bundle');
  t.ok(answer.faces.length >= 1, `${answer.faces.length} face(s) in a photo of ${person} not seen in training`);
  const total = answer.faces[0]!.candidates.reduce((s, c) => s + c.score, 0);
  t.ok(Math.abs(total - 1) < 1e-4, `three probabilities summing to ${total.toFixed(5)}`);
});
