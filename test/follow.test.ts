// Following a face between looks: a face only the second look finds is found again in its box, without the detector.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { dot } from '../src/util/vectors.js';
import { iou } from '../src/vision/boxes.js';
import { knownFaces, notFoundAgain } from '../src/vision/pipeline.js';
import type { Box, RgbImage } from '../src/vision/types.js';
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
  const followed = faces.filter((f) => f.via === 'followed').map((f) => f.follows);
  t.ok(unmatched.length > small.length, 'faces of the whole frame moved out of their boxes too');
  t.same(followed, notFoundAgain(detected, follow), 'the boxes whose faces were not found again are followed, each with its index');
  t.same(
    followed,
    small.map((_, i) => whole.length + i),
    'only the small face: the moved faces of the whole frame were detected beside their boxes, and are not looked for in them',
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

t.test('a known face detected where it was is not looked at again: no landmarks, no embedding', { skip: missing }, async (t) => {
  const pipeline = await testPipeline();
  // The Avengers scene at 11 s: a close-up of one face about 100 px high; 0.4 s later, the next detection.
  const first = await pipeline.analyze(await frameAt('avengers-corridor.mp4', 11), { tiles: false, video: true });
  const known = first.filter((f) => f.box.height >= 64).map((f) => f.box);
  t.ok(known.length >= 1, `a large face to know (${first.map((f) => Math.round(f.box.height)).join(', ')} px)`);
  const next = await frameAt('avengers-corridor.mp4', 11.4);
  const plain = await pipeline.analyze(next, { tiles: false, video: true });
  const backend = pipeline.backend;
  const looked = { landmarks: 0, embedded: 0 };
  const { landmarks, embed } = backend;
  backend.landmarks = (image, boxes) => ((looked.landmarks += boxes.length), landmarks.call(backend, image, boxes));
  backend.embed = (chips) => ((looked.embedded += chips.length), embed.call(backend, chips));
  t.teardown(() => Object.assign(backend, { landmarks, embed }));
  const faces = await pipeline.analyze(next, { tiles: false, video: true, known });
  const knownOnes = faces.filter((f) => f.via === 'known');
  t.equal(knownOnes.length, known.length, 'every known face found again in its place');
  t.same(
    knownOnes.map((f) => [f.knows, f.embedding.length, f.landmarks.length]),
    known.map((_, k) => [k, 0, 0]),
    'each with its index, no embedding and no landmarks',
  );
  t.same(looked, { landmarks: plain.length - known.length, embedded: plain.length - known.length }, 'only the other faces were looked at');
  t.same(
    faces.map((f) => f.box).sort((a, b) => a.x - b.x),
    plain.map((f) => f.box).sort((a, b) => a.x - b.x),
    'the same faces as without knowing them',
  );
});

t.test('a followed box is looked into unless its face was found again, where it was or nearby', async (t) => {
  const box = (x: number, size = 100, y = 50): Box => ({ x, y, width: size, height: size });
  const d = (b: Box) => ({ box: b, score: 0.9 });
  t.same(notFoundAgain([d(box(110))], [box(100)]), [], 'overlapping by 0.3 or more: found where it was');
  t.same(notFoundAgain([d(box(160))], [box(100)]), [], 'moved by 0.6 of its height at its size: found again');
  t.same(notFoundAgain([d(box(100, 100, 140))], [box(100)]), [], 'moved by 0.9 of its height downwards: found again');
  t.same(notFoundAgain([d(box(220))], [box(100)]), [0], 'more than a face height away: another face, looked into');
  t.same(notFoundAgain([d(box(150, 200))], [box(100)]), [0], 'twice its size nearby: another face, looked into');
  t.same(notFoundAgain([], [box(100), box(300, 0)]), [0], 'a box of no size is never looked into');
  t.same(notFoundAgain([d(box(160))], [box(100), box(230)]), [1], 'one detection stands for one box, the nearest: the other face beside it is looked for');
  t.same(notFoundAgain([d(box(105)), d(box(400))], [box(100), box(170)]), [1], 'a detection found in its own box stands for no other');
  t.same(notFoundAgain([d(box(150)), d(box(250))], [box(100), box(200)]), [], 'two faces that moved together: each found again');
});

t.test('a detection is a known face only when nothing else is in its place', async (t) => {
  const box = (x: number, size = 100): Box => ({ x, y: 50, width: size, height: size });
  const d = (b: Box, follows?: number) => ({ box: b, score: 0.9, ...(follows === undefined ? {} : { follows }) });
  const alone = d(box(105));
  t.same([...knownFaces([alone], [box(100)]).values()], [0], 'one detection a few pixels on: the known face');
  t.same([...knownFaces([d(box(160))], [box(100)]).values()], [], 'moved by more than half its width: looked at');
  t.same([...knownFaces([d(box(100, 140))], [box(100)]).values()], [], 'grown by 40% (walked closer, or another face): looked at');
  t.same([...knownFaces([alone, d(box(150))], [box(100)]).values()], [], 'another detection in its place: both looked at');
  t.same([...knownFaces([alone], [box(100), box(140)]).values()], [], 'a detection between two known faces: looked at');
  t.same([...knownFaces([d(box(100), 0)], [box(100)]).values()], [], 'a followed box is no detection');
});
