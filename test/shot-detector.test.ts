// Shot changes in real footage: every labelled cut of the film scenes found, none where the camera only moves.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { FfmpegProcess } from '../src/ingest/ffmpeg-process.js';
import { ShotDetector } from '../src/track/shot-detector.js';
import type { RgbImage } from '../src/vision/types.js';
import { ROOT } from './helpers/datasets.js';
import { video, videosMissing } from './helpers/videos.js';

async function cutsOf(file: string, fps: number): Promise<number[]> {
  const detector = new ShotDetector();
  const cuts: number[] = [];
  const ffmpeg = new FfmpegProcess('ffmpeg', { url: file, fps, maxWidth: 1280 }, (frame) => {
    if (detector.next(frame.image)) cuts.push(frame.time);
  });
  await ffmpeg.exited;
  return cuts;
}

const solid = (value: number, width = 64, height = 36): RgbImage => ({ data: new Uint8Array(width * height * 3).fill(value), width, height });

t.test('a cut is a change of colours or of the whole picture; the first frame and a steady picture are none', async (t) => {
  const detector = new ShotDetector();
  t.equal(detector.next(solid(40)), false, 'the first frame');
  t.equal(detector.next(solid(42)), false, 'almost the same');
  t.equal(detector.next(solid(220)), true, 'all other colours');
  t.equal(detector.next(solid(220, 32, 18)), true, 'a frame of another size (a restarted stream)');
});

const missing = videosMissing();
for (const scene of ['avengers-corridor', 'hera-pheri-scene']) {
  t.test(`${scene}: the labelled cuts, and no other, at 5 and 10 frames a second`, { skip: missing }, async (t) => {
    const labels = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/footage', `${scene}.json`), 'utf8')) as { shots: { start: number }[] };
    const cuts = labels.shots.slice(1).map((s) => s.start);
    for (const fps of [5, 10]) {
      const found = await cutsOf(video(`${scene}.mp4`), fps);
      // A frame at time t shows what was on screen at t (fps round=up): the first frame after a cut is within one step of it.
      for (const cut of cuts)
        t.ok(
          found.some((f) => f >= cut && f < cut + 1 / fps + 0.2),
          `${fps} fps: the cut at ${cut} s found (${found.join(', ')})`,
        );
      t.ok(found.length <= cuts.length + 1, `${fps} fps: at most one extra (${found.length} for ${cuts.length}; a blended frame at a cut may count twice)`);
    }
  });
}

t.test('a moving camera and moving people are one shot', { skip: missing }, async (t) => {
  for (const clip of ['talking-head-aoc-a.mp4', 'talking-head-katie-hill.mp4', 'crowd-unknown-people.mp4'])
    t.same(await cutsOf(video(clip), 5), [], `${clip}: no cut`);
});
