// The detection schedule: a shot's first frame in full, then the detector and the tiles only every so often.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { FfmpegProcess } from '../src/ingest/ffmpeg-process.js';
import { DetectSchedule, SecondLookSweep, type FramePlan } from '../src/track/detect-schedule.js';
import { ShotDetector } from '../src/track/shot-detector.js';
import { ROOT } from './helpers/datasets.js';
import { video, videosMissing } from './helpers/videos.js';

const still = { histogram: 0, pixels: 1 };

/**
 * The plans for a run of frames at `fps` from `start` seconds: `c` a cut, `.` a frame within the shot
 * changed by `pixels`; the first plan of a fresh schedule has no change to measure.
 */
function plans(schedule: DetectSchedule, frames: string, { fps = 5, pixels = 1, start = 0 } = {}): string {
  let out = '';
  frames.split('').forEach((f, i) => {
    const time = start + i / fps;
    out += schedule.next({ time, cut: f === 'c', change: i === 0 && start === 0 ? undefined : { histogram: 0, pixels } })[0];
  });
  return out;
}

t.test('every frame in full with periods of 0', async (t) => {
  t.equal(plans(new DetectSchedule({ detectSeconds: 0, tileSeconds: 0, detectOnChange: 0 }), '.......'), 'fffffff');
});

t.test('at 5 frames a second, the detector every 0.4 s and the tiles every second; a cut starts again in full', async (t) => {
  const schedule = new DetectSchedule({ detectSeconds: 0.4, tileSeconds: 1, detectOnChange: 0 });
  t.equal(plans(schedule, '...........'), 'fcwcwfcwcwf', 'full, carry, whole, carry, whole, full');
  t.equal(plans(schedule, 'c..c....', { start: 10 }), 'fcwfcwcw', 'a cut resets both periods');
});

t.test('the periods are stream time: at 2 frames a second, every frame detected and every other one tiled', async (t) => {
  t.equal(plans(new DetectSchedule({ detectSeconds: 0.4, tileSeconds: 1, detectOnChange: 0 }), '.......', { fps: 2 }), 'fwfwfwf');
});

t.test("live arrival times that wobble: the frame nearest to the period's end", async (t) => {
  const schedule = new DetectSchedule({ detectSeconds: 0.4, tileSeconds: 10, detectOnChange: 0 });
  const times = [0, 0.21, 0.38, 0.61, 0.79, 1.02];
  t.same(
    times.map((time, i) => schedule.next({ time, cut: false, change: i === 0 ? undefined : still })),
    ['full', 'carry', 'whole', 'carry', 'whole', 'carry'],
  );
});

t.test('a frame of another size, a reset stream and the first frame are detected in full', async (t) => {
  const schedule = new DetectSchedule({ detectSeconds: 0.6, tileSeconds: 1.2, detectOnChange: 0 });
  t.equal(schedule.next({ time: 0, cut: false, change: still }), 'full', 'the first frame ever');
  t.equal(schedule.next({ time: 0.2, cut: false, change: still }), 'carry');
  t.equal(schedule.next({ time: 0.4, cut: false, change: undefined }), 'full', 'no change to measure: another size');
  t.equal(schedule.next({ time: 0.6, cut: false, change: still }), 'carry');
  schedule.reset();
  t.equal(schedule.next({ time: 0.8, cut: false, change: still }), 'full', 'after reset');
});

t.test('a frame that changed enough since the last detection is detected early', async (t) => {
  const schedule = new DetectSchedule({ detectSeconds: 2, tileSeconds: 4, detectOnChange: 12 });
  // 5 a frame: the change adds up to 12 on the third frame after a detection.
  t.equal(plans(schedule, '........', { pixels: 5 }), 'fccwccwc');
  t.equal(plans(new DetectSchedule({ detectSeconds: 2, tileSeconds: 4, detectOnChange: 0 }), '........', { pixels: 50 }), 'fccccccc', '0: never early');
});

t.test('tiles only when affordable, except at a cut; the detector still runs', async (t) => {
  const schedule = new DetectSchedule({ detectSeconds: 0, tileSeconds: 0, detectOnChange: 0 });
  let time = 0;
  const next = (cut: boolean, tilesAffordable: boolean): FramePlan => schedule.next({ time: (time += 0.2), cut, change: still, tilesAffordable });
  t.equal(next(false, false), 'full', 'the first frame');
  t.equal(next(false, false), 'whole', 'a slow camera');
  t.equal(next(false, true), 'full', 'keeping up again');
  t.equal(next(true, false), 'full', 'a cut, however slow');
});

t.test('options are read on every frame (a live configuration update)', async (t) => {
  const options = { detectSeconds: 0, tileSeconds: 0, detectOnChange: 0 };
  const schedule = new DetectSchedule(options);
  t.equal(plans(schedule, '...'), 'fff');
  options.detectSeconds = 0.6;
  options.tileSeconds = 2;
  t.equal(plans(schedule, 'c.....', { start: 1 }), 'fccwcc');
});

const missing = videosMissing();
for (const scene of ['avengers-corridor', 'hera-pheri-scene']) {
  t.test(`${scene} at 5 frames a second: every shot's first frame in full, a third of frames detected`, { skip: missing }, async (t) => {
    const labels = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/footage', `${scene}.json`), 'utf8')) as { shots: { start: number }[] };
    const shots = new ShotDetector();
    const schedule = new DetectSchedule({ detectSeconds: 0.4, tileSeconds: 1, detectOnChange: 0 });
    const planned: { time: number; plan: FramePlan }[] = [];
    const ffmpeg = new FfmpegProcess('ffmpeg', { url: video(`${scene}.mp4`), fps: 5, maxWidth: 1280 }, (frame) => {
      planned.push({ time: frame.time, plan: schedule.next({ time: frame.time, ...shots.observe(frame.image) }) });
    });
    await ffmpeg.exited;
    for (const { start } of labels.shots) {
      // The first frame at or after the cut (fps round=up), or the one after it when the cut blends.
      const first = planned.filter((p) => p.time >= start - 1e-6).slice(0, 2);
      t.ok(
        first.some((p) => p.plan === 'full'),
        `the shot at ${start} s starts in full (${first.map((p) => `${p.time}:${p.plan}`).join(', ')})`,
      );
    }
    const count = (plan: FramePlan) => planned.filter((p) => p.plan === plan).length;
    t.ok(count('full') <= Math.ceil(planned.length / 5) + labels.shots.length, `${count('full')} of ${planned.length} frames with tiles`);
    t.ok(count('carry') >= planned.length / 3, `${count('carry')} of ${planned.length} frames carried`);
    // No frame goes more than one frame without the detector.
    t.notOk(
      planned.some((p, i) => p.plan === 'carry' && planned[i - 1]?.plan === 'carry'),
      'never two carried frames in a row',
    );
  });
}

t.test('a live camera`s second look, one pass a frame: started by the schedule`s full frames, finished on the next ones whatever their plan', async (t) => {
  const sweep = new SecondLookSweep();
  const plans: FramePlan[] = ['full', 'carry', 'whole', 'carry', 'whole', 'full', 'carry', 'full', 'whole'];
  t.same(
    plans.map((plan) => {
      if (plan === 'full') sweep.start(3);
      return sweep.step();
    }),
    [0, 1, 2, undefined, undefined, 0, 1, 0, 1],
    'three passes on three frames; a full frame in the middle (a cut) starts again',
  );
  const small = new SecondLookSweep();
  small.start(0);
  t.equal(small.step(), undefined, 'a frame the detector sees whole takes no second look');
  const resized = new SecondLookSweep();
  resized.start(3);
  resized.step();
  resized.start(0);
  t.same([resized.step(), resized.step()], [undefined, undefined], 'a restarted camera`s first frame, of a size without a look, ends the one begun');
});
