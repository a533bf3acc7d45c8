// vision.quantize: the int8 SSD against the float one on real photos, the mixed modes' passes, and onnxruntime running it as QLinearConv.
import { mkdtemp, readFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { matchBoxes } from '../src/cli/bench-int8.js';
import { faceApiModelDir } from '../src/vision/face-api.js';
import { decodeImage } from '../src/vision/decode.js';
import { loadQuantRanges, quantizedSsd } from '../src/vision/onnx/int8-models.js';
import { faceModelPath } from '../src/vision/onnx/model-cache.js';
import { OnnxFaceBackend } from '../src/vision/onnx/onnx-backend.js';
import { compileSsd, SSD_NET_INPUT } from '../src/vision/onnx/ssd-graph.js';
import { loadWeights } from '../src/vision/onnx/weights.js';
import type { DetectPass } from '../src/vision/types.js';
import { datasetsMissing, faces } from './helpers/datasets.js';

/** Photos the detector's ranges were not measured on: two per person of five-celebrities/val and of five lfw people. */
function photos(): string[] {
  const files: string[] = [];
  for (const folder of [faces('five-celebrities', 'val'), faces('lfw')]) {
    for (const person of readdirSync(folder).sort().slice(0, 5)) {
      files.push(
        ...readdirSync(path.join(folder, person))
          .sort()
          .slice(0, 2)
          .map((f) => path.join(folder, person, f)),
      );
    }
  }
  return files;
}

t.test('the int8 SSD finds the faces the float one finds, in nearly the same boxes, and nothing else', { skip: datasetsMissing() }, async (t) => {
  const float = new OnnxFaceBackend({ intraOpNumThreads: 1 });
  const int8 = new OnnxFaceBackend({ intraOpNumThreads: 1, quantize: 'detector' });
  t.equal(int8.name, 'onnx-int8', 'the pipeline revision tells int8 detections apart');
  await float.start();
  await int8.start();
  t.teardown(async () => {
    await float.stop();
    await int8.stop();
  });
  const options = { minScore: 0.5, maxFaces: 20 };
  const ious: number[] = [];
  let onlyInt8 = 0;
  for (const file of photos()) {
    const image = await decodeImage(await readFile(file), { maxPixels: 40_000_000 });
    const [a, b] = [await float.detect(image, options), await int8.detect(image, options)];
    const m = matchBoxes(a, b);
    ious.push(...m.ious);
    onlyInt8 += m.onlyInt8;
  }
  t.ok(ious.length >= 15, `${ious.length} faces`);
  // Measured on 44 photos: IoU mean 0.946, min 0.795, every face found, none added.
  t.ok(Math.min(...ious) >= 0.75, `every float face found by int8, IoU at least ${Math.min(...ious).toFixed(3)}`);
  t.ok(ious.reduce((s, v) => s + v, 0) / ious.length >= 0.9, `mean IoU ${(ious.reduce((s, v) => s + v, 0) / ious.length).toFixed(3)}`);
  t.equal(onlyInt8, 0, 'no face found only by int8');
});

t.test(
  'vision.quantize second-look and photos-and-second-look: each pass on the float or the int8 SSD as its mode says',
  { skip: datasetsMissing() },
  async (t) => {
    const float = new OnnxFaceBackend({ intraOpNumThreads: 1 });
    const int8 = new OnnxFaceBackend({ intraOpNumThreads: 1, quantize: 'detector' });
    const strips = new OnnxFaceBackend({ intraOpNumThreads: 1, quantize: 'second-look' });
    const photosToo = new OnnxFaceBackend({ intraOpNumThreads: 1, quantize: 'photos-and-second-look' });
    t.equal(strips.name, 'onnx-int8-second-look', 'the pipeline revision tells their detections apart');
    t.equal(photosToo.name, 'onnx-int8-photos-second-look');
    const all = [float, int8, strips, photosToo];
    for (const b of all) await b.start();
    t.teardown(async () => {
      for (const b of all) await b.stop();
    });
    // The graphs name the pipeline's revision too (caches of faces): the int8 SSD's by its pass and ranges.
    t.match(photosToo.graphs, /(^|\+)ssd-int8-r\d+-[0-9a-f]{8}(\+|$)/, `the int8 graph named with its revision: ${photosToo.graphs}`);
    t.notMatch(float.graphs, /ssd-int8/, 'the float backend runs no int8 graph');
    const options = { minScore: 0.3, maxFaces: 20 };
    let differ = 0;
    for (const file of photos().slice(0, 4)) {
      const image = await decodeImage(await readFile(file), { maxPixels: 40_000_000 });
      const whole = 512 / Math.max(image.width, image.height);
      const name = path.basename(file);
      const at = (b: OnnxFaceBackend, scale: number, pass: DetectPass) => b.detectScaled!(image, scale, options, pass);
      const floatWhole = await at(float, whole, 'frame');
      const int8Whole = await at(int8, whole, 'frame');
      t.same(await at(strips, whole, 'frame'), floatWhole, `${name}: second-look: a video frame's whole pass is float's`);
      t.same(await at(strips, whole, 'photo'), floatWhole, `${name}: second-look: a photo's whole pass is float's`);
      t.same(await at(photosToo, whole, 'frame'), floatWhole, `${name}: photos-and-second-look: a video frame's whole pass is float's`);
      t.same(await at(photosToo, whole, 'photo'), int8Whole, `${name}: photos-and-second-look: a photo's whole pass is int8's`);
      t.same(
        await photosToo.detect(image, options),
        await int8.detect(image, options),
        `${name}: photos-and-second-look: face-api's square (a photo) is int8's`,
      );
      const strip = await at(int8, 2 * whole, 'second-look');
      t.same(await at(strips, 2 * whole, 'second-look'), strip, `${name}: second-look: a second-look pass is int8's`);
      t.same(await at(photosToo, 2 * whole, 'second-look'), strip, `${name}: photos-and-second-look: a second-look pass is int8's`);
      if (JSON.stringify(int8Whole) !== JSON.stringify(floatWhole) && JSON.stringify(strip) !== JSON.stringify(await at(float, 2 * whole, 'second-look')))
        differ++;
    }
    t.ok(differ > 0, `int8 and float differ on ${differ} of 4 photos at both scales, so the answers above are told apart`);
  },
);

t.test('onnxruntime fuses every convolution of the int8 SSD into QLinearConv', async (t) => {
  const file = await faceModelPath('ssd', { int8: true });
  t.match(path.basename(file), /^ssd-int8-r\d+-[0-9a-f]{8}\.onnx$/, 'cached under the digest of its ranges');
  const optimized = path.join(await mkdtemp(path.join(os.tmpdir(), 'ar-int8-')), 'ssd.onnx');
  const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', optimizedModelFilePath: optimized, logSeverityLevel: 3 });
  await session.release();
  const text = (await readFile(optimized)).toString('latin1');
  t.equal(text.split('QLinearConv').length - 1, 47, 'the 47 convolutions of SSD MobileNet v1 are QLinearConv');
  t.notOk(/"\x04Conv/.test(text), 'no float Conv left');
});

t.test('the int8 SSD reads the image as bytes into its first convolution: no float image, no normalisation', async (t) => {
  const graph = quantizedSsd(compileSsd(await loadWeights(faceApiModelDir(), 'ssd_mobilenetv1_model')), (await loadQuantRanges('ssd')).ranges);
  const nodes = graph.nodeList;
  const producer = (tensor: string) => nodes.find((n) => n.outputs.includes(tensor));
  // From the network's input back to the image: Resize, Pad, Transpose, all on bytes.
  const chain: string[] = [];
  for (let node = producer(SSD_NET_INPUT); node; node = producer(node.inputs[0]!)) chain.push(node.op);
  t.same(chain, ['Resize', 'Pad', 'Transpose'], 'the image padded and resized as it came');
  const readers = nodes.filter((n) => n.inputs.includes(SSD_NET_INPUT));
  t.same(
    readers.map((n) => n.op),
    ['DequantizeLinear'],
    "the resized bytes are the first convolution's uint8 input",
  );
  const [, scale, zeroPoint] = readers[0]!.inputs;
  t.equal(graph.initializerValue(scale!)!.data[0], Math.fround(1 / 127.5), 'a byte x stands for x / 127.5 ...');
  t.equal(graph.initializerValue(zeroPoint!)!.data[0], 128, "... - 128 / 127.5: face-api's x / 127.5 - 1, half a level lower");
  t.notOk(
    nodes.some((n) => n.op === 'Cast' || (n.op === 'QuantizeLinear' && producer(n.inputs[0]!)?.op === 'Sub')),
    'no Cast to float and no quantised normalisation left',
  );
});
