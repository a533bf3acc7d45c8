// Static int8 quantisation (src/onnx/quantize.ts): the numbers, the QDQ graph, and onnxruntime fusing it into QLinearConv.
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { activationParams, calibrationTensors, quantizeGraph, quantizeWeights, type QuantRanges } from '../src/onnx/quantize.js';
import { GraphBuilder } from '../src/onnx/writer.js';
import { loadConfig } from '../src/config/load.js';
import { createFacePipeline } from '../src/vision/create-backend.js';

t.test('weights: symmetric int8 per output channel, the largest magnitude at ±127, within half a step', async (t) => {
  const w = Float32Array.of(0.5, -1, 0.25, 0, 10, -2.5, 5, 0);
  const { q, scales } = quantizeWeights(w, 2);
  t.same([...q.subarray(0, 4)], [64, -127, 32, 0]);
  t.same([...q.subarray(4)], [127, -32, 64, 0]);
  w.forEach((v, i) => t.ok(Math.abs(q[i]! * scales[Math.floor(i / 4)]! - v) <= scales[Math.floor(i / 4)]! / 2 + 1e-7, `weight ${i}`));
  t.same([...quantizeWeights(new Float32Array(3), 1).q], [0, 0, 0], 'an all-zero channel stays zero');
});

t.test('activations: uint8 covering the range and zero, zero exactly representable', async (t) => {
  t.same(activationParams(0, 6), { scale: Math.fround(6 / 255), zeroPoint: 0 });
  const p = activationParams(-1, 1);
  t.equal(p.zeroPoint, 128);
  t.ok(Math.abs(p.scale - 2 / 255) < 1e-7);
  t.equal(activationParams(2, 5).zeroPoint, 0, 'a range above zero is stretched down to it');
  t.equal(activationParams(-4, -1).zeroPoint, 255);
});

/** x -> Conv(3×3) -> Clip(0, 6) -> Conv(1×1) -> Sigmoid -> y: what the SSD is made of. */
function tinyNet(): GraphBuilder {
  const g = new GraphBuilder('tiny');
  g.input('x', 'float32', [1, 2, 8, 8]);
  const w1 = Float32Array.from({ length: 4 * 2 * 9 }, (_, i) => Math.sin(i) * 0.3);
  const c1 = g.op('Conv', ['x', g.initializer('w1', w1, [4, 2, 3, 3]), g.initializer('b1', Float32Array.of(0.1, -0.2, 0.3, 0), [4])], { pads: [1, 1, 1, 1] });
  const act = g.op('Clip', [c1, g.initializer('lo', Float32Array.of(0), []), g.initializer('hi', Float32Array.of(6), [])]);
  const w2 = Float32Array.from({ length: 3 * 4 }, (_, i) => Math.cos(i) * 0.5);
  g.node('Sigmoid', [g.op('Conv', [act, g.initializer('w2', w2, [3, 4, 1, 1])])], ['y']);
  g.output('y', 'float32', [1, 3, 8, 8]);
  return g;
}

const input = Float32Array.from({ length: 2 * 64 }, (_, i) => Math.sin(i * 0.7));

async function run(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions = {}): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3, ...options });
  const out = await session.run({ x: new ort.Tensor('float32', input, [1, 2, 8, 8]) });
  await session.release();
  return out['y']!.data as Float32Array;
}

/** Ranges as calibration would measure them: from a float run with every tensor an output. */
async function measuredRanges(): Promise<QuantRanges> {
  const g = tinyNet();
  const tensors = calibrationTensors(g);
  for (const name of tensors) g.output(name, 'float32');
  const session = await ort.InferenceSession.create(g.toModel(), { logSeverityLevel: 3 });
  const out = await session.run({ x: new ort.Tensor('float32', input, [1, 2, 8, 8]) });
  await session.release();
  const range = (d: Float32Array) => [Math.min(...d), Math.max(...d)] as const;
  return { network: 'tiny', images: 1, source: 'test', tensors: Object.fromEntries(tensors.map((n) => [n, range(out[n]!.data as Float32Array)])) };
}

t.test('the QDQ graph answers as the float one, and onnxruntime runs it as QLinearConv', async (t) => {
  const g = tinyNet();
  t.same(calibrationTensors(g), ['x', 'clip_1', 'conv_2'], 'inputs of convolutions, the clipped activation, the last output');
  const float = await run(g.toModel());
  const ranges = await measuredRanges();
  const q = tinyNet();
  t.same(quantizeGraph(q, ranges), { convs: 2, adds: 0, tensors: 3 });
  const ops = q.nodeList.map((n) => n.op);
  t.equal(ops.filter((o) => o === 'QuantizeLinear').length, 3);
  t.notOk(q.initializerValue('w1'), 'the float weights are gone');
  const bytes = q.toModel();
  // The QDQ graph's own arithmetic, unfused: onnxruntime's fused u8s8 kernel on x86 without VNNI (AVX2
  // alone, as on the AMD EPYC CI machines) sums pairs of products in int16 and saturates with weights
  // near ±127 (0.024 off here); 7-bit weights avoid that but cost the SSD a face in int8-parity, which
  // checks the fused kernels on real faces.
  const int8 = await run(bytes, { graphOptimizationLevel: 'disabled' });
  // The sigmoid's slope is at most 1/4: an output step of the last convolution moves y by less.
  const step = activationParams(...ranges.tensors['conv_2']!).scale;
  let worst = 0;
  float.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - int8[i]!))));
  t.ok(worst <= step, `int8 within ${worst.toFixed(4)} of float (output step ${step.toFixed(4)})`);
  t.ok(worst > 0, 'and not the float graph by accident');
  const optimized = path.join(await mkdtemp(path.join(os.tmpdir(), 'ar-quant-')), 'optimized.onnx');
  await run(bytes, { graphOptimizationLevel: 'all', optimizedModelFilePath: optimized });
  const text = (await readFile(optimized)).toString('latin1');
  t.equal(text.split('QLinearConv').length - 1, 2, 'both convolutions fused into QLinearConv');
  t.notOk(/"\x04Conv/.test(text), 'no float Conv left');
  t.notOk(text.includes('Clip'), 'the Clip folded into the uint8 range');
});

t.test('ranges from another graph are refused', async (t) => {
  const ranges = await measuredRanges();
  delete (ranges.tensors as Record<string, unknown>)['clip_1'];
  t.throws(() => quantizeGraph(tinyNet(), ranges), /lack 1 tensors \(clip_1\): recalibrate/);
});

t.test('vision.quantize int8 on the tfjs backend is refused as a configuration error, before any model loads', async (t) => {
  const vision = loadConfig({
    env: { ACTOR_RECOGNIZER_VISION_BACKEND: 'tfjs', ACTOR_RECOGNIZER_VISION_QUANTIZE: 'int8', ACTOR_RECOGNIZER_VISION_EMBEDDER: 'face-api-68' },
  }).vision;
  t.equal(vision.quantize, 'int8');
  await t.rejects(createFacePipeline(vision), { code: 'CONFIG_INVALID', message: /vision.quantize int8 runs on vision.backend onnx only/ });
});
