// The ONNX backend against face-api on TensorFlow.js, stage by stage, on real photos.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import t from 'tap';
import { OnnxFaceBackend } from '../src/vision/onnx/onnx-backend.js';
import { TfjsFaceBackend } from '../src/vision/tfjs-backend.js';
import type { Box, DetectorKind, RgbImage } from '../src/vision/types.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const datasets = path.resolve(root, process.env['ACTOR_RECOGNIZER_DATASETS'] ?? '../shared/datasets');
const faces = path.join(datasets, 'faces');

function photos(): string[] {
  const group = path.join(faces, 'bbt-group-shots');
  const files = readdirSync(group)
    .sort()
    .map((f) => path.join(group, f));
  const val = path.join(faces, 'five-celebrities', 'val');
  // One portrait per person: single large faces, non-square images.
  for (const person of readdirSync(val).sort().slice(0, 3)) {
    const first = readdirSync(path.join(val, person)).sort()[0];
    if (first) files.push(path.join(val, person, first));
  }
  return files;
}

async function decode(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** A 150×150 chip of the box (stretched, not aligned: the descriptor only has to agree across backends). */
async function chip(image: RgbImage, box: Box): Promise<RgbImage | undefined> {
  const left = Math.max(0, Math.round(box.x));
  const top = Math.max(0, Math.round(box.y));
  const width = Math.min(Math.round(box.width), image.width - left);
  const height = Math.min(Math.round(box.height), image.height - top);
  if (width < 8 || height < 8) return undefined;
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract({ left, top, width, height })
    .resize(150, 150, { fit: 'fill' })
    .raw()
    .toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: 150, height: 150 };
}

function iou(a: Box, b: Box): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! ** 2;
    nb += b[i]! ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

if (!existsSync(faces)) {
  t.plan(0, `skipped: no face photos at ${faces} (set ACTOR_RECOGNIZER_DATASETS)`);
} else {
  for (const detector of ['ssd', 'tiny'] as DetectorKind[]) {
    t.test(`${detector} detector, landmarks and descriptors match face-api`, async (t) => {
      const reference = new TfjsFaceBackend({ detector });
      const onnx = new OnnxFaceBackend({ detector, intraOpNumThreads: 2 });
      await reference.start();
      await onnx.start();
      t.teardown(() => Promise.all([onnx.stop(), reference.stop()]));
      let faceCount = 0;
      let worstIou = 1,
        worstLandmark = 0,
        worstCosine = 1;
      // The tiny detector only runs on the group shots, to keep the suite short.
      const files =
        detector === 'ssd'
          ? photos()
          : photos()
              .filter((f) => f.includes('bbt-group-shots'))
              .slice(0, 3);
      for (const file of files) {
        const name = path.relative(faces, file);
        const image = await decode(file);
        const options = { minScore: 0.5, maxFaces: 100 };
        const [want, got] = [await reference.detect(image, options), await onnx.detect(image, options)];
        t.equal(got.length, want.length, `${name}: same number of faces`);
        want.forEach((w, i) => {
          const g = got[i];
          worstIou = Math.min(worstIou, g ? iou(w.box, g.box) : 0);
          if (g) t.ok(Math.abs(g.score - w.score) < 1e-3, `${name} face ${i}: score ${g.score} ~ ${w.score}`);
        });
        const boxes = want.map((d) => d.box);
        faceCount += boxes.length;
        const [lmWant, lmGot] = [await reference.landmarks(image, boxes), await onnx.landmarks(image, boxes)];
        lmWant.forEach((points, i) => {
          t.equal(lmGot[i]?.length, points.length, `${name} face ${i}: landmark count`);
          points.forEach((p, j) => {
            const q = lmGot[i]?.[j];
            worstLandmark = Math.max(worstLandmark, q ? Math.hypot(p.x - q.x, p.y - q.y) : Infinity);
          });
        });
        if (detector !== 'ssd') continue; // descriptors do not depend on the detector
        const chips = (await Promise.all(boxes.map((b) => chip(image, b)))).filter((c): c is RgbImage => c !== undefined);
        const [dWant, dGot] = [await reference.embed(chips), await onnx.embed(chips)];
        t.equal(dGot.length, dWant.length, `${name}: one descriptor per chip`);
        dWant.forEach((d, i) => {
          worstCosine = Math.min(worstCosine, dGot[i] ? cosine(d, dGot[i]!) : 0);
        });
      }
      t.ok(faceCount >= (detector === 'ssd' ? 20 : 8), `found ${faceCount} faces across ${files.length} photos`);
      t.ok(worstIou >= 0.98, `boxes: worst IoU ${worstIou} >= 0.98`);
      t.ok(worstLandmark <= 1, `landmarks: worst distance ${worstLandmark} px <= 1`);
      if (detector === 'ssd') t.ok(worstCosine >= 0.9999, `descriptors: worst cosine ${worstCosine} >= 0.9999`);
    });
  }
}
