// Graphs built by the ONNX writer, run by onnxruntime-node, checked against the same maths in JS.
import t from 'tap';
import * as ort from 'onnxruntime-node';
import { GraphBuilder, float, floats } from '../src/onnx/writer.js';

const rand = (n: number, seed: number): Float32Array => {
  // A small LCG: reproducible inputs without a dependency.
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
};

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Largest absolute difference, or Infinity when the lengths differ. */
function maxDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  return worst;
}

function matmul(a: Float32Array, b: Float32Array, n: number, k: number, m: number, bT = false): Float32Array {
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p]! * (bT ? b[j * k + p]! : b[p * m + j]!);
      out[i * m + j] = s;
    }
  return out;
}

t.test('MatMul + Add with a symbolic batch dimension', async (t) => {
  const [n, k, m] = [3, 4, 5];
  const x = rand(n * k, 1),
    w = rand(k * m, 2),
    b = rand(m, 3);
  const g = new GraphBuilder('matmul_add');
  g.input('x', 'float32', ['N', k]);
  g.initializer('w', w, [k, m]);
  g.initializer('b', b, [m]);
  const y = g.op('MatMul', ['x', 'w']);
  g.node('Add', [y, 'b'], ['y']);
  g.output('y', 'float32', ['N', m]);
  const bytes = g.toModel({ producer: 'actor-recognizer', metadata: { labels: 'a,b' } });
  const session = await ort.InferenceSession.create(bytes);
  t.same(session.inputNames, ['x']);
  t.same(session.outputNames, ['y']);
  const out = await session.run({ x: new ort.Tensor('float32', x, [n, k]) });
  await session.release();
  const want = matmul(x, w, n, k, m).map((v, i) => v + b[i % m]!);
  t.same(out['y']!.dims, [n, m]);
  t.ok(maxDiff(out['y']!.data as Float32Array, want) <= 1e-5, 'y matches JS');
});

t.test('LpNormalization, Relu and Softmax', async (t) => {
  const x = rand(2 * 6, 4);
  const g = new GraphBuilder('norm');
  g.input('x', 'float32', [2, 6]);
  g.node('LpNormalization', ['x'], ['l2'], { axis: 1, p: 2 });
  g.node('Relu', ['x'], ['relu']);
  g.node('Softmax', ['x'], ['soft'], { axis: -1 });
  for (const o of ['l2', 'relu', 'soft']) g.output(o, 'float32', [2, 6]);
  const out = await run(g.toModel(), { x: new ort.Tensor('float32', x, [2, 6]) });
  const l2 = new Float32Array(12),
    soft = new Float32Array(12);
  for (let r = 0; r < 2; r++) {
    const row = x.subarray(r * 6, r * 6 + 6);
    const norm = Math.hypot(...row);
    const max = Math.max(...row);
    const sum = row.reduce((a, v) => a + Math.exp(v - max), 0);
    row.forEach((v, i) => {
      l2[r * 6 + i] = v / norm;
      soft[r * 6 + i] = Math.exp(v - max) / sum;
    });
  }
  t.ok(maxDiff(out['l2']!.data as Float32Array, l2) <= 1e-6, 'l2 matches JS');
  t.ok(
    maxDiff(
      out['relu']!.data as Float32Array,
      x.map((v) => Math.max(0, v)),
    ) <= 0,
    'relu matches JS',
  );
  t.ok(maxDiff(out['soft']!.data as Float32Array, soft) <= 1e-6, 'softmax matches JS');
});

t.test('Conv with strides, asymmetric pads and groups', async (t) => {
  const [c, h, w, k] = [2, 5, 6, 3];
  const groups = 2,
    outC = 4,
    stride = 2,
    pads = [0, 0, 1, 1]; // top, left, bottom, right
  const x = rand(c * h * w, 5),
    wt = rand(outC * (c / groups) * k * k, 6),
    bias = rand(outC, 7);
  const g = new GraphBuilder('conv');
  g.input('x', 'float32', [1, c, h, w]);
  g.initializer('w', wt, [outC, c / groups, k, k]);
  g.initializer('b', bias, [outC]);
  g.node('Conv', ['x', 'w', 'b'], ['y'], { kernel_shape: [k, k], strides: [stride, stride], pads, group: groups });
  g.output('y', 'float32');
  const out = await run(g.toModel(), { x: new ort.Tensor('float32', x, [1, c, h, w]) });
  const oh = Math.floor((h + pads[0]! + pads[2]! - k) / stride) + 1;
  const ow = Math.floor((w + pads[1]! + pads[3]! - k) / stride) + 1;
  const want = new Float32Array(outC * oh * ow);
  const perGroup = c / groups,
    outPerGroup = outC / groups;
  for (let o = 0; o < outC; o++) {
    const g0 = Math.floor(o / outPerGroup) * perGroup;
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let s = bias[o]!;
        for (let ci = 0; ci < perGroup; ci++)
          for (let ki = 0; ki < k; ki++)
            for (let kj = 0; kj < k; kj++) {
              const y = i * stride + ki - pads[0]!,
                xx = j * stride + kj - pads[1]!;
              if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
              s += x[(g0 + ci) * h * w + y * w + xx]! * wt[((o * perGroup + ci) * k + ki) * k + kj]!;
            }
        want[(o * oh + i) * ow + j] = s;
      }
  }
  t.same(out['y']!.dims, [1, outC, oh, ow]);
  t.ok(maxDiff(out['y']!.data as Float32Array, want) <= 1e-5, 'conv matches JS');
});

t.test('Gemm with float attributes that are whole numbers, and transB', async (t) => {
  const [n, k, m] = [2, 3, 4];
  const a = rand(n * k, 8),
    b = rand(m * k, 9),
    c = rand(m, 10);
  const g = new GraphBuilder('gemm');
  g.input('a', 'float32', [n, k]);
  g.initializer('b', b, [m, k]);
  g.initializer('c', c, [m]);
  g.node('Gemm', ['a', 'b', 'c'], ['y'], { alpha: float(2), beta: 0.5, transB: 1 });
  g.output('y', 'float32', [n, m]);
  const out = await run(g.toModel({ opset: 13 }), { a: new ort.Tensor('float32', a, [n, k]) });
  const want = matmul(a, b, n, k, m, true).map((v, i) => 2 * v + 0.5 * c[i % m]!);
  t.ok(maxDiff(out['y']!.data as Float32Array, want) <= 1e-5, 'gemm matches JS');
});

t.test('int64 initializers, TENSOR, FLOATS and STRING attributes, negative ints', async (t) => {
  const g = new GraphBuilder('misc');
  g.input('x', 'float32', [2, 3]);
  g.int64('shape', [3, -1]);
  const r = g.op('Reshape', ['x', 'shape']);
  g.node('Constant', [], ['k'], { value: { data: Float32Array.of(10, 20), dims: [1, 2] } });
  g.node('Constant', [], ['fs'], { value_floats: floats([1, 2.5]) });
  g.node('Add', [r, 'k'], ['y']);
  g.int64('pads', [0, 1, 0, 0]);
  g.node('Pad', ['x', 'pads'], ['padded'], { mode: 'reflect' });
  g.output('y', 'float32', [3, 2]);
  g.output('fs', 'float32', [2]);
  g.output('padded', 'float32', [2, 4]);
  const x = Float32Array.of(1, 2, 3, 4, 5, 6);
  const out = await run(g.toModel(), { x: new ort.Tensor('float32', x, [2, 3]) });
  t.same(Array.from(out['y']!.data as Float32Array), [11, 22, 13, 24, 15, 26]);
  t.same(Array.from(out['fs']!.data as Float32Array), [1, 2.5]);
  t.same(Array.from(out['padded']!.data as Float32Array), [2, 1, 2, 3, 5, 4, 5, 6]);
});

t.test('rejects data that does not fill its dims', async (t) => {
  const g = new GraphBuilder('bad');
  g.initializer('w', new Float32Array(5), [2, 3]);
  t.throws(() => g.toModel(), RangeError);
});
