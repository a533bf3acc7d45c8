// Image bombs: a 6000×6000 PNG of one colour is decoded straight to the working size; RSS stays bounded while other requests are answered.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { Admission } from '../src/api/admission.js';
import { buildApp } from '../src/api/app.js';
import { silentLogger } from '../src/logger.js';
import { Recognizer } from '../src/recognize/recognizer.js';
import { decodeImage } from '../src/vision/decode.js';
import { reduceForDetector } from '../src/vision/detector-input.js';
import { datasetsMissing, faces } from './helpers/datasets.js';
import { hugeBlankPng } from './helpers/images.js';
import { testPipeline } from './helpers/models.js';

/** What the bombs may add to the process's RSS, three at once with two decoded at a time (it was 1.4 GB for one). */
const BOUND_MIB = 400;

t.test('decoding shrinks on load: the working size, and the scale back to the original', async (t) => {
  const big = await sharp({ create: { width: 5000, height: 2500, channels: 3, background: '#345' } })
    .jpeg()
    .toBuffer();
  const image = await decodeImage(big, { maxPixels: 40_000_000, maxSide: 2048 });
  t.same([image.width, image.height, image.scale], [2048, 1024, 5000 / 2048]);
  const small = await decodeImage(
    await sharp({ create: { width: 300, height: 200, channels: 3, background: '#345' } })
      .png()
      .toBuffer(),
    { maxPixels: 40_000_000, maxSide: 2048 },
  );
  t.same([small.width, small.height, small.scale], [300, 200, 1], 'a small image at full size');
  const rotated = await decodeImage(
    await sharp({ create: { width: 4096, height: 1024, channels: 3, background: '#345' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer(),
    { maxPixels: 40_000_000, maxSide: 2048 },
  );
  t.same([rotated.width, rotated.height, rotated.scale], [512, 2048, 2], 'EXIF orientation counted in the original size');
  const reduced = reduceForDetector({ data: new Uint8Array(3000 * 10 * 3).fill(200), width: 3000, height: 10 });
  t.same(
    [reduced.image.width, reduced.image.height, reduced.scale, reduced.image.data[0]],
    [1000, 3, 3, 200],
    "the detector's input averaged down by a whole factor",
  );
  const frame = { data: new Uint8Array(1280 * 720 * 3).fill(90), width: 1280, height: 720 };
  t.equal(reduceForDetector(frame, 1024, 512).scale, 2, 'a 1280×720 frame seen at 512×288: halved, as without the floor');
  t.equal(reduceForDetector(frame, 1024, 1024).scale, 1, 'seen at 1024×576 (the second look in one pass): its own pixels, not 640×360 enlarged');
  t.equal(reduceForDetector(frame, 1024, 1024).image, frame, 'unchanged, not copied');
  const hd = { data: new Uint8Array(1920 * 1080 * 3).fill(90), width: 1920, height: 1080 };
  t.equal(reduceForDetector(hd, 1024, 1024 * 1.5).scale, 1, 'a 1080p frame seen larger than itself keeps its pixels');
  const photo = { data: new Uint8Array(2000 * 1500 * 3).fill(90), width: 2000, height: 1500 };
  t.equal(reduceForDetector(photo, 1024, 1024).scale, 2, 'more pixels than a 1080p frame: averaged down as before (memory first)');
});

t.test('three 6000×6000 PNG bombs at once: RSS stays under the bound, /healthz and a small photo are answered meanwhile', async (t) => {
  const pipeline = await testPipeline();
  const models = { current: () => null };
  const recognizer = new Recognizer(pipeline, models, { maxPixels: 40_000_000, maxSide: 2048 });
  const app = await buildApp(
    { recognizer, models: { current: () => null, currentSource: () => null }, notReady: () => [] },
    { bodyLimitBytes: 20 * 1024 * 1024, admission: new Admission(2, 6), logger: silentLogger(), version: 'test' },
  );
  t.teardown(() => app.close());
  const post = (bytes: Buffer, type: string) => app.inject({ method: 'POST', url: '/v1/recognize', payload: bytes, headers: { 'content-type': type } });
  const photo = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#888' } })
    .jpeg()
    .toBuffer();
  t.equal((await post(photo, 'image/jpeg')).statusCode, 200, 'warm-up');
  global.gc?.();
  const base = process.memoryUsage().rss;
  let max = base;
  const sampler = setInterval(() => (max = Math.max(max, process.memoryUsage().rss)), 10);
  const bomb = hugeBlankPng(6000);
  const bombs = [post(bomb, 'image/png'), post(bomb, 'image/png'), post(bomb, 'image/png')];
  const healthz: number[] = [];
  let answered = 0;
  const others = (async () => {
    while (answered < 3) {
      const start = Date.now();
      const status = (await app.inject('/healthz')).statusCode;
      healthz.push(status === 200 ? Date.now() - start : Infinity);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const replies = await Promise.all(bombs.map((b) => b.then((res) => (answered++, res))));
  await others;
  const small = await post(photo, 'image/jpeg');
  clearInterval(sampler);
  max = Math.max(max, process.memoryUsage().rss);
  t.same(
    replies.map((r) => r.statusCode),
    [200, 200, 200],
    'every bomb answered (no face), none crashed',
  );
  const grew = Math.round((max - base) / 2 ** 20);
  t.ok(grew < BOUND_MIB, `RSS grew by ${grew} MiB (bound ${BOUND_MIB} MiB) over ${Math.round(base / 2 ** 20)} MiB`);
  t.ok(healthz.length > 0 && Math.max(...healthz) < 500, `/healthz answered ${healthz.length} times meanwhile, at most ${Math.max(...healthz)} ms`);
  t.equal(small.statusCode, 200, 'a small photo is answered after');
});

const missing = datasetsMissing();
t.test('a photo shrunk on decode still gets its boxes in the original pixels', { skip: missing }, async (t) => {
  const dir = faces('five-celebrities', 'val', 'Ben Affleck');
  const original = readFileSync(path.join(dir, readdirSync(dir).sort()[0]!));
  const { width = 0 } = await sharp(original).metadata();
  const factor = Math.ceil(4096 / width);
  const large = await sharp(original)
    .resize({ width: width * factor, kernel: 'cubic' })
    .jpeg({ quality: 95 })
    .toBuffer();
  const recognizer = new Recognizer(await testPipeline(), { current: () => null }, { maxPixels: 100_000_000, maxSide: 2048 });
  const [a] = (await recognizer.recognizeBytes(original, { fallback: 'retry' })).faces;
  const [b] = (await recognizer.recognizeBytes(large, { fallback: 'retry' })).faces;
  t.ok(a && b, 'a face in both');
  const centre = (box: { x: number; y: number; width: number; height: number }, k: number) => [(box.x + box.width / 2) * k, (box.y + box.height / 2) * k];
  const [ax, ay] = centre(a!.box, factor);
  const [bx, by] = centre(b!.box, 1);
  t.ok(
    Math.hypot(ax! - bx!, ay! - by!) < 0.06 * a!.box.width * factor,
    `the same face, in the large image's pixels (${Math.round(ax!)},${Math.round(ay!)} vs ${Math.round(bx!)},${Math.round(by!)})`,
  );
  t.ok(Math.abs(b!.box.width / (a!.box.width * factor) - 1) < 0.15, `of the same size (${b!.box.width} vs ${a!.box.width * factor})`);
});
