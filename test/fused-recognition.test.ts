// The fused descriptor-and-head graph answers exactly as the two graphs run one after the other.
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { classMeans, ncmHeadGraph } from '../src/recognize/ncm-head.js';
import { fusedRecognitionGraph } from '../src/vision/onnx/fused-recognition.js';
import { faceModelBytes } from '../src/vision/onnx/model-cache.js';
import { randomUnit } from './helpers/bundles.js';

/** Smooth synthetic 150×150 chips, different for every seed. */
function chips(count: number): Float32Array {
  const data = new Float32Array(count * 150 * 150 * 3);
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < 150 * 150 * 3; i++) data[n * 67500 + i] = 128 + 100 * Math.sin((i % 450) / (20 + n * 7) + Math.floor(i / 450) / (15 + n));
  }
  return data;
}

t.test('one call gives the descriptor and the scores of the two-step pipeline', async (t) => {
  const means = classMeans([[randomUnit(1, 128)], [randomUnit(2, 128)], [randomUnit(3, 128)]], 128);
  const fused = await ort.InferenceSession.create(await fusedRecognitionGraph(means));
  const recognition = await ort.InferenceSession.create(await faceModelBytes('recognition'));
  const head = await ort.InferenceSession.create(ncmHeadGraph(means, 128));
  t.teardown(async () => {
    await Promise.all([fused.release(), recognition.release(), head.release()]);
  });
  const image = new ort.Tensor('float32', chips(3), [3, 150, 150, 3]);
  const both = await fused.run({ image });
  const descriptor = (await recognition.run({ image })).descriptor!;
  const scores = (await head.run({ embedding: new ort.Tensor('float32', descriptor.data as Float32Array, [3, 128]) })).scores!;
  t.same(both.descriptor!.dims, [3, 128]);
  t.same(both.scores!.dims, [3, 3]);
  const worst = (a: ort.Tensor, b: ort.Tensor) => Math.max(...Array.from(a.data as Float32Array, (v, i) => Math.abs(v - (b.data as Float32Array)[i]!)));
  t.ok(worst(both.descriptor!, descriptor) <= 1e-5, `descriptor differs by ${worst(both.descriptor!, descriptor)}`);
  t.ok(worst(both.scores!, scores) <= 1e-5, `scores differ by ${worst(both.scores!, scores)}`);
});
