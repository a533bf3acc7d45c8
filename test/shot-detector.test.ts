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

t.test('a cut back to an earlier set-up takes that shot up again; another picture, or one too long ago, does not', async (t) => {
  const detector = new ShotDetector();
  t.same(detector.observe(solid(40), 0), { cut: false, change: undefined, shot: 1 }, 'the first frame starts shot 1');
  t.equal(detector.observe(solid(40), 0.2).shot, 1);
  const away = detector.observe(solid(220), 0.4);
  t.same([away.cut, away.shot, away.resumes], [true, 2, undefined], 'a cutaway: shot 2, nothing to take up (it was cut from shot 1)');
  const back = detector.observe(solid(42), 0.6);
  t.same([back.cut, back.shot, back.resumes], [true, 3, 1], 'back to the first set-up: shot 3 takes shot 1 up again');
  const other = detector.observe(solid(120), 0.8);
  t.same([other.cut, other.resumes], [true, undefined], 'a picture unlike every earlier shot');
  const late = detector.observe(solid(220), 70);
  t.same([late.cut, late.resumes], [true, undefined], 'shot 2 ended over a minute before');
});

/** The earlier shot each cut of a video takes up again (undefined: none), at 5 frames a second. */
async function resumesOf(file: string): Promise<(number | undefined)[]> {
  const detector = new ShotDetector();
  const resumes: (number | undefined)[] = [];
  const ffmpeg = new FfmpegProcess('ffmpeg', { url: file, fps: 5, maxWidth: 1280 }, (frame) => {
    const seen = detector.observe(frame.image, frame.time);
    if (seen.cut) resumes.push(seen.resumes);
  });
  await ffmpeg.exited;
  return resumes;
}

const missing = videosMissing();
t.test('the film scenes: Hera Pheri cuts back to its first set-up after the cutaway; the Avengers never go back', { skip: missing }, async (t) => {
  t.same(await resumesOf(video('hera-pheri-scene.mp4')), [undefined, 1], 'the cutaway, then back to shot 1');
  t.same(await resumesOf(video('avengers-corridor.mp4')), [undefined, undefined, undefined], 'three new set-ups');
});

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
