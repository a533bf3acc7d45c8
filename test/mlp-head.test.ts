// The dense softmax head's ONNX export against its TypeScript forward pass.
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { mlpForward, mlpHeadGraph, type MlpWeights } from '../src/train/mlp-head.js';

function random(length: number, seed: number): Float32Array {
  let s = seed;
  return new Float32Array(length).map(() => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648 - 0.5) * 0.4;
  });
}

t.test('the exported graph matches the forward pass within 1e-5', async (t) => {
  const weights: MlpWeights = { inputSize: 128, hidden: 32, classes: 7, w1: random(128 * 32, 1), b1: random(32, 2), w2: random(32 * 7, 3), b2: random(7, 4) };
  const session = await ort.InferenceSession.create(mlpHeadGraph(weights));
  t.teardown(() => session.release());
  const samples = [5, 6, 7, 8].map((seed) => random(128, seed));
  const batch = new Float32Array(samples.length * 128);
  samples.forEach((e, i) => batch.set(e, i * 128));
  const out = (await session.run({ embedding: new ort.Tensor('float32', batch, [samples.length, 128]) })).scores!.data as Float32Array;
  let worst = 0;
  samples.forEach((e, i) => {
    const want = mlpForward(weights, e);
    t.ok(Math.abs(want.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'probabilities sum to 1');
    want.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - out[i * 7 + k]!))));
  });
  t.ok(worst <= 1e-5, `largest difference ${worst}`);
});
