// BlazeFace, the whole-frame detector of video frames: the compiled graph against TensorFlow.js, decoding, and faces found in labelled film frames.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import t from 'tap';
import * as ort from 'onnxruntime-node';
import { blazeFaceModelFile, compileBlazeFace } from '../src/vision/onnx/blazeface-graph.js';
import { selectBlazeFace, SSD_SHAPE } from '../src/vision/onnx/blazeface.js';
import { blazeFaceModelPath } from '../src/vision/onnx/model-cache.js';
import { OnnxFaceBackend } from '../src/vision/onnx/onnx-backend.js';
import { loadGraphModel } from '../src/vision/onnx/weights.js';
import type { Box, RgbImage } from '../src/vision/types.js';
import { fixture } from './helpers/footage.js';
import { video } from './helpers/videos.js';

const videos = existsSync(video('hera-pheri-scene.mp4'))
  ? undefined
  : 'the test videos are not in the datasets folder (set ACTOR_RECOGNIZER_DATASETS): skipped';

t.test('the compiled graph answers as TensorFlow.js runs the converted model', async (t) => {
  await tf.setBackend('cpu');
  const file = blazeFaceModelFile();
  const json = JSON.parse(readFileSync(file, 'utf8')) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
  const bin = readFileSync(file.replace(/\.json$/, '.bin'));
  const reference = await tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
    }),
  );
  const session = await ort.InferenceSession.create(compileBlazeFace(await loadGraphModel(file)).toModel());
  // A 256×256 image with structure (the network's own square: no padding, no resize).
  const pixels = Uint8Array.from({ length: 256 * 256 * 3 }, (_, i) => (i * 7919 + (i >> 9) * 31) % 251);
  const out = await session.run({
    image: new ort.Tensor('uint8', pixels, [1, 256, 256, 3]),
    layout: new ort.Tensor('int64', BigInt64Array.of(256n, 256n, 256n, 256n), [4]),
  });
  const input = tf.tensor4d(
    Float32Array.from(pixels, (v) => v / 127.5 - 1),
    [1, 256, 256, 3],
  );
  const [s16, s32, b16, b32] = (reference.execute(input, ['Identity:0', 'Identity_1:0', 'Identity_2:0', 'Identity_3:0']) as tf.Tensor[]).map(
    (x) => x.dataSync() as Float32Array,
  );
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  const worst = (a: Float32Array, b: Float32Array, f = (v: number) => v) => {
    t.equal(b.length, a.length, 'as many values');
    return a.reduce((m, v, i) => Math.max(m, Math.abs(f(v) - b[i]!)), 0);
  };
  t.ok(worst(s16!, out['scores_16']!.data as Float32Array, sigmoid) < 1e-4, 'stride-16 scores');
  t.ok(worst(s32!, out['scores_32']!.data as Float32Array, sigmoid) < 1e-4, 'stride-32 scores');
  t.ok(worst(b16!, out['boxes_16']!.data as Float32Array) < 1e-2, 'stride-16 boxes (network pixels)');
  t.ok(worst(b32!, out['boxes_32']!.data as Float32Array) < 1e-2, 'stride-32 boxes');
  await session.release();
});

t.test('decoding: anchor cells, scale back to the image, SSD shape, threshold and NMS', async (t) => {
  // A 256×160 network input for a 512×320 image: cells of 16 px, 16 columns; 2 anchors a cell.
  const layout = { padH: 320, padW: 512, netH: 160, netW: 256 };
  const fine = { scores: new Float32Array(16 * 10 * 2), boxes: new Float32Array(16 * 10 * 2 * 16) };
  const coarse = { scores: new Float32Array(8 * 5 * 6), boxes: new Float32Array(8 * 5 * 6 * 16) };
  const put = (grid: typeof fine, i: number, score: number, dx: number, dy: number, side: number) => {
    grid.scores[i] = score;
    grid.boxes.set([dx, dy, side, side], i * 16);
  };
  // Cell (column 3, row 2), anchor 1: centre (56, 40) + (2, -4) in network pixels, 20 px wide.
  put(fine, (2 * 16 + 3) * 2 + 1, 0.9, 2, -4, 20);
  // The same face again, weaker, from the coarse grid (cell (1, 1), centre (48, 48)): suppressed.
  put(coarse, (1 * 8 + 1) * 6, 0.7, 10, -12, 21);
  // A face under the threshold.
  put(fine, 5, 0.4, 0, 0, 30);
  const found = selectBlazeFace([fine, coarse], layout, { width: 512, height: 320 }, 0.5, 10);
  t.equal(found.length, 1, 'one face: the weaker duplicate and the low score are dropped');
  const side = 40; // 20 network pixels at 2 image pixels each
  const box = found[0]!.box;
  t.ok(Math.abs(found[0]!.score - 0.9) < 1e-6, 'its score');
  t.ok(Math.abs(box.x + box.width / 2 - 116) < 1e-6, 'centre x: (3.5 * 16 + 2) * 2');
  t.ok(Math.abs(box.y + box.height / 2 - (72 + SSD_SHAPE.dy * side)) < 1e-6, 'centre y: (2.5 * 16 - 4) * 2, moved to the SSD box centre');
  t.ok(Math.abs(box.width - SSD_SHAPE.w * side) < 1e-6 && Math.abs(box.height - SSD_SHAPE.h * side) < 1e-6, "the SSD's proportions");
  t.same(selectBlazeFace([fine, coarse], layout, { width: 512, height: 320 }, 0.95, 10), [], 'nothing above a higher threshold');
});

t.test('frames of odd sizes pass through without an error', async (t) => {
  const backend = new OnnxFaceBackend({ frameDetector: 'blazeface' });
  await backend.start();
  t.teardown(() => backend.stop());
  for (const [width, height] of [
    [1, 1],
    [3, 500],
    [1000, 7],
    [257, 145],
    [1920, 1080],
  ] as const) {
    const image = { data: Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 31) % 256), width, height };
    const faces = await backend.detectScaled!(image, 1, { minScore: 0.5, maxFaces: 20, video: true }, 'frame');
    t.ok(
      faces.every((f) => f.box.x >= 0 && f.box.y >= 0 && f.box.x + f.box.width <= width + 1e-6 && f.box.y + f.box.height <= height + 1e-6),
      `${width}×${height}: ${faces.length} faces, every box inside the frame`,
    );
  }
});

/** One frame of `file` at `t` seconds, as packed RGB. */
function frameAt(file: string, t: number): RgbImage {
  const [width, height] = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', file])
    .toString()
    .trim()
    .split(',')
    .map(Number) as [number, number];
  const data = execFileSync('ffmpeg', ['-v', 'error', '-ss', String(t), '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
    maxBuffer: 64 << 20,
  });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height };
}

/** A detection on the labelled face: its centre within half the face of the label's, its width within half to twice. */
function onFace(label: Box, box: Box): boolean {
  const dx = box.x + box.width / 2 - (label.x + label.width / 2);
  const dy = box.y + box.height / 2 - (label.y + label.height / 2);
  return Math.abs(dx) < label.width / 2 && Math.abs(dy) < label.height / 2 && box.width > label.width / 2 && box.width < label.width * 2;
}

t.test("a video frame's whole pass finds the labelled faces of the film scenes, the small ones too", { skip: videos }, async (t) => {
  const backend = new OnnxFaceBackend({ frameDetector: 'blazeface' });
  await backend.start();
  t.teardown(() => backend.stop());
  t.match(await blazeFaceModelPath(), /blazeface-back-r\d+\.onnx$/, 'compiled into the cache');
  let labelled = 0;
  let found = 0;
  let small = 0;
  let smallFound = 0;
  let strays = 0;
  for (const scene of ['avengers-corridor', 'hera-pheri-scene']) {
    const labels = JSON.parse(readFileSync(fixture(`${scene}.json`), 'utf8')) as { frames: { t: number; faces: { box: Box }[] }[] };
    // Every other labelled frame: about 15 frames, 35 faces, 20 of them under 60 px.
    for (const frame of labels.frames.filter((_, i) => i % 2 === 0)) {
      const image = frameAt(video(`${scene}.mp4`), frame.t);
      const faces = await backend.detectScaled!(image, 1, { minScore: 0.5, maxFaces: 20, video: true }, 'frame');
      for (const { box } of frame.faces) {
        const hit = faces.some((f) => onFace(box, f.box));
        labelled++;
        found += Number(hit);
        if (box.width < 60) {
          small++;
          smallFound += Number(hit);
        }
      }
      strays += faces.filter((f) => !frame.faces.some((l) => onFace(l.box, f.box))).length;
    }
  }
  t.ok(labelled >= 30 && small >= 15, `${labelled} labelled faces, ${small} under 60 px`);
  // Measured: all but one (a 28×33 face half turned away); the SSD's whole pass at 512 found 62 of 69.
  t.ok(found >= labelled - 2, `${found} of ${labelled} labelled faces found`);
  t.ok(smallFound >= small - 2, `${smallFound} of ${small} faces under 60 px found`);
  t.ok(strays <= 2, `${strays} detections on no labelled face`);
});
