// The ONNX face backend without photos: model cache, lifecycle, shapes, and face-api's post-processing rules.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { isRecognizerError } from '../src/errors.js';
import { iou } from '../src/vision/boxes.js';
import { decodeImage } from '../src/vision/decode.js';
import { datasetsMissing, faces } from './helpers/datasets.js';
import { selectSsd } from '../src/vision/onnx/detections.js';
import { MAX_BATCH, OnnxFaceBackend } from '../src/vision/onnx/onnx-backend.js';
import { clipRegion, placeSquare, writeSquare } from '../src/vision/onnx/preprocess.js';
import type { RgbImage } from '../src/vision/types.js';

function solid(width: number, height: number, value: (i: number) => number): RgbImage {
  return { data: Uint8Array.from({ length: width * height * 3 }, (_, i) => value(i)), width, height };
}

t.test('square placement and crops follow face-api', async (t) => {
  // padToSquare centered: round(diff / 2) after, the rest before.
  t.same(placeSquare(101, 60, true), { side: 101, padX: 0, padY: 20 });
  t.same(placeSquare(60, 101, false), { side: 101, padX: 0, padY: 0 });
  t.same(placeSquare(60, 101, true), { side: 101, padX: 20, padY: 0 });
  // clipAtImageBorders floors after clipping.
  t.same(clipRegion({ x: -5.5, y: 10.7, width: 50, height: 500 }, 40, 100), { x: 0, y: 10, width: 40, height: 89 });
  const img = solid(4, 2, (i) => i);
  const out = new Float32Array(4 * 4 * 3);
  writeSquare(img, { x: 0, y: 0, width: 4, height: 2 }, 4, false, out, 0);
  t.same(Array.from(out.subarray(0, 24)), Array.from(img.data), 'no resize when the square already has the input size');
  t.ok(
    out.subarray(24).every((v) => v === 0),
    'padding at the end is zero',
  );
});

t.test('SSD selection: threshold, NMS at 0.5, limit, clipping', async (t) => {
  // (ymin, xmin, ymax, xmax) relative to the 512 square.
  const boxes = Float32Array.of(0.1, 0.1, 0.3, 0.3, 0.11, 0.1, 0.31, 0.3, 0.5, 0.5, 0.7, 1.2, 0.0, 0.0, 0.1, 0.1);
  const scores = Float32Array.of(0.9, 0.95, 0.8, 0.4);
  const found = selectSsd(boxes, scores, { width: 512, height: 512 }, 512, 0.5, 100);
  t.equal(found.length, 2, 'the overlapping weaker box and the low score are dropped');
  t.equal(found[0]!.score, scores[1]);
  t.equal(found[1]!.box.x + found[1]!.box.width, 512, 'boxes are clipped to the image');
  t.equal(selectSsd(boxes, scores, { width: 512, height: 512 }, 512, 0.5, 1).length, 1, 'maxFaces caps the result');
  // A wide image: the square is padded below, so relative y scales by width / height.
  const wide = selectSsd(Float32Array.of(0, 0, 0.5, 0.5), Float32Array.of(0.9), { width: 1000, height: 500 }, 512, 0.5, 10);
  t.same(wide[0]!.box, { x: 0, y: 0, width: 500, height: 500 });
});

t.test('compiles into the cache once, infers, and stops cleanly', async (t) => {
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'face-onnx-'));
  t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));
  const backend = new OnnxFaceBackend({ cacheDir, intraOpNumThreads: 1 });
  await backend.start();
  const [versionDir] = readdirSync(cacheDir);
  t.match(versionDir, /^face-api-\d+\.\d+\.\d+-c\d+$/, 'cache keyed by the face-api version');
  const files = readdirSync(path.join(cacheDir, versionDir!)).sort();
  t.same(files, ['landmarks.onnx', 'recognition.onnx', 'ssd.onnx']);
  const stamp = statSync(path.join(cacheDir, versionDir!, 'ssd.onnx')).mtimeMs;

  const grey = solid(320, 240, () => 128);
  t.same(await backend.detect(grey, { minScore: 0.5, maxFaces: 10 }), [], 'no face in a flat grey image');
  const marks = await backend.landmarks(grey, [
    { x: 20, y: 30, width: 100, height: 80 },
    { x: 400, y: 0, width: 10, height: 10 },
  ]);
  t.equal(marks[0]!.length, 68, '68 landmarks per face');
  t.ok(
    marks[0]!.every((p) => p.x > 0 && p.x < 140 && p.y > 10 && p.y < 130),
    'landmarks near their box',
  );
  t.same(marks[1], [], 'a box outside the image has no landmarks');
  const chip = solid(150, 150, (i) => (i * 31) % 251);
  const [a, b, c] = await backend.embed([chip, chip, solid(120, 150, (i) => i % 200)]);
  t.equal(a!.length, 128);
  t.same(Array.from(a!), Array.from(b!), 'deterministic within a batch');
  t.equal(c!.length, 128, 'chips of another size are padded and resized');
  // More faces than MAX_BATCH go in several calls: each face keeps its place and its embedding.
  const six = Array.from({ length: MAX_BATCH + 2 }, (_, k) => solid(150, 150, (i) => (i * (k + 3)) % 251));
  const batched = await backend.embed(six);
  const alone = await Promise.all(six.map(async (chip) => (await backend.embed([chip]))[0]!));
  t.equal(batched.length, six.length);
  t.ok(
    batched.every((e, k) => e.every((v, j) => Math.abs(v - alone[k]![j]!) < 1e-4)),
    'faces batched across calls embed as they do alone, in order',
  );

  await backend.stop();
  await backend.stop();
  const after = await backend.detect(grey, { minScore: 0.5, maxFaces: 1 }).catch((err: unknown) => err);
  t.ok(isRecognizerError(after, 'VISION_FAILED'), 'inference after stop() is refused with VISION_FAILED');

  const again = new OnnxFaceBackend({ cacheDir, intraOpNumThreads: 1 });
  await again.start();
  t.equal(statSync(path.join(cacheDir, versionDir!, 'ssd.onnx')).mtimeMs, stamp, 'the cached graph is reused, not rebuilt');
  await again.stop();
});

t.test('SSD runs at any input size', async (t) => {
  const backend = new OnnxFaceBackend({ intraOpNumThreads: 1 });
  await backend.start();
  t.teardown(() => backend.stop());
  t.ok(backend.detectScaled, 'the SSD backend detects at any size');
  const grey = solid(640, 360, () => 128);
  for (const scale of [0.8, 1.6, 0.37])
    t.same(await backend.detectScaled!(grey, scale, { minScore: 0.5, maxFaces: 10 }, 'frame'), [], `nothing in grey at ${scale}`);
  t.notOk(new OnnxFaceBackend({ detector: 'tiny' }).detectScaled, 'the Tiny Face Detector has a fixed input');
});

t.test('a photo at its own aspect: the faces of the square, at the same places', { skip: datasetsMissing() ?? false }, async (t) => {
  const backend = new OnnxFaceBackend({ intraOpNumThreads: 1 });
  await backend.start();
  t.teardown(() => backend.stop());
  // A group photo letterboxed into a 16:9 frame: the square pass pads it, the frame pass does not.
  for (const file of ['bbt1.jpg', 'bbt3.jpg']) {
    const image = await decodeImage(await readFile(faces('bbt-group-shots', file)), { maxPixels: 40_000_000 });
    const options = { minScore: 0.5, maxFaces: 20 };
    const square = await backend.detect(image, options);
    const frame = await backend.detectScaled!(image, 512 / Math.max(image.width, image.height), options, 'photo');
    t.ok(square.length >= 3, `${file}: ${square.length} faces in the square`);
    const matched = square.map((a) => Math.max(0, ...frame.map((b) => iou(a.box, b.box))));
    t.equal(frame.length, square.length, `${file}: as many faces at the photo's own aspect`);
    t.ok(Math.min(...matched) >= 0.9, `${file}: every face again, IoU at least ${Math.min(...matched).toFixed(3)}`);
  }
});

t.test('the float SSD is loaded only where a pass runs on it: not with BlazeFace for frames and int8 for the rest', async (t) => {
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'face-onnx-'));
  t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }));
  const backend = new OnnxFaceBackend({ cacheDir, intraOpNumThreads: 1, frameDetector: 'blazeface', quantize: 'photos-and-second-look' });
  await backend.start();
  t.teardown(() => backend.stop());
  const faceApi = readdirSync(cacheDir).find((d) => d.startsWith('face-api-'))!;
  const files = readdirSync(path.join(cacheDir, faceApi));
  t.notOk(files.includes('ssd.onnx'), `no float SSD built or loaded (${files.join(', ')})`);
  t.ok(
    files.some((f) => /^ssd-int8-/.test(f)),
    'the int8 SSD is',
  );
  const grey = solid(640, 360, () => 128);
  const options = { minScore: 0.5, maxFaces: 10 };
  t.same(await backend.detect(grey, options), [], 'a photo: the int8 SSD');
  for (const pass of ['frame', 'second-look', 'photo'] as const) t.same(await backend.detectScaled!(grey, 0.8, options, pass), [], `a ${pass} pass`);
});
