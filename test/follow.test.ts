// Following a face between looks: a face only the second look finds is found again in its box, without the detector.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { dot } from '../src/util/vectors.js';
import { iou } from '../src/vision/boxes.js';
import type { RgbImage } from '../src/vision/types.js';
import { testPipeline } from './helpers/models.js';
import { video, videosMissing } from './helpers/videos.js';

const missing = videosMissing();

/** The frame at `seconds` of a video, 640 px wide, as RGB. */
async function frameAt(name: string, seconds: number): Promise<RgbImage> {
  const { stdout } = await promisify(execFile)(
    'ffmpeg',
    ['-v', 'error', '-ss', String(seconds), '-i', video(name), '-frames:v', '1', '-vf', 'scale=640:360', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 1 << 22 },
  );
  return { data: new Uint8Array(stdout), width: 640, height: 360 };
}

t.test('a small face only the second look finds is followed into a frame detected without it', { skip: missing }, async (t) => {
  const pipeline = await testPipeline();
  // Hera Pheri at 9.2 s: a face 24 px wide at the back that the whole-frame pass misses.
  const first = await frameAt('hera-pheri-scene.mp4', 9.2);
  const full = await pipeline.analyze(first, {});
  const whole = await pipeline.analyze(first, { tiles: false });
  const small = full.filter((f) => whole.every((w) => iou(w.box, f.box) < 0.3) && f.box.width < 40);
  t.ok(small.length >= 1, 'the second look finds a small face the whole frame does not');
  // 0.4 s later, the next detected frame of the schedule, without the second look, following every face of the first.
  const next = await frameAt('hera-pheri-scene.mp4', 9.6);
  const follow = [...whole.map((f) => f.box), ...small.map((f) => f.box)];
  const detected = await pipeline.analyze(next, { tiles: false });
  const faces = await pipeline.analyze(next, { tiles: false, follow });
  const unmatched = follow.flatMap((box, i) => (detected.every((d) => iou(d.box, box) < 0.3) ? [i] : []));
  t.same(
    faces.filter((f) => f.via === 'followed').map((f) => f.follows),
    unmatched,
    'the boxes no detection overlaps are followed, each with its index',
  );
  t.same(
    faces.filter((f) => f.via !== 'followed').map((f) => f.box),
    detected.map((f) => f.box),
    'the detected faces are as without following',
  );
  for (const [i, face] of small.entries()) {
    const f = faces.find((o) => o.follows === whole.length + i);
    t.ok(f, 'the small face is followed');
    if (!f) continue;
    const cos = dot(f.embedding, face.embedding);
    const others = faces.filter((o) => o !== f).map((o) => dot(o.embedding, face.embedding));
    t.ok(cos >= pipeline.embedder.tuning.link.near, `it links to its track (cosine ${cos.toFixed(3)} >= ${pipeline.embedder.tuning.link.near})`);
    t.ok(
      others.every((c) => c < cos),
      `closer to it than any other face of the frame (${others.map((c) => c.toFixed(3)).join(', ')})`,
    );
    t.same(f.box, face.box, 'in the box it was followed in');
  }
});

t.test('without boxes to follow, analysis is what it was', { skip: missing }, async (t) => {
  const pipeline = await testPipeline();
  const image = await frameAt('hera-pheri-scene.mp4', 9.2);
  const plain = await pipeline.analyze(image, { tiles: false });
  const none = await pipeline.analyze(image, { tiles: false, follow: [] });
  t.same(
    none.map((f) => [f.box, f.via]),
    plain.map((f) => [f.box, f.via]),
  );
});
