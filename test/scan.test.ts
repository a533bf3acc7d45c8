// `scan` end to end: enrolled from one clip, found in another (a crowd of strangers: test/slow/scan-crowd).
import t from 'tap';
import { cliJson } from './helpers/cli.js';
import { AOC, aocModel, video, videosMissing } from './helpers/videos.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MAIN } from './helpers/cli.js';
import { syntheticVideo } from './helpers/ingest.js';
import { scanVideo } from '../src/cli/scan.js';
import type { FrameAnalyzer } from '../src/track/frame-analyzer.js';
import { Tracker } from '../src/track/tracker.js';
import type { Box, RgbImage } from '../src/vision/types.js';

const missing = videosMissing();
// The default settings: tracks named from their faces' aggregate against thresholds calibrated with
// the embedder's cohort of strangers, blurred faces held to a higher bar.
const env = {};

t.test('the person enrolled from clip a is found in clip b', { skip: missing }, async (t) => {
  const model = await aocModel();
  const result = await cliJson<{ duration: number; appearances: { actor: string | null; start: number; end: number; confidence: number }[] }>(
    ['scan', '--model', model, video('talking-head-aoc-b.mp4'), '--fps', '3'],
    env,
  );
  t.ok(Math.abs(result.duration - 5) < 0.2, `duration ${result.duration}`);
  const named = result.appearances.filter((a) => a.actor === AOC);
  t.ok(named.length >= 1, 'she is named');
  t.ok(named.reduce((s, a) => s + a.end - a.start, 0) >= 3, 'for most of the clip');
  t.notOk(
    result.appearances.some((a) => a.actor && a.actor !== AOC),
    'nobody else is named',
  );
  const { stdout } = await promisify(execFile)(process.execPath, [MAIN, 'scan', '--model', model, video('talking-head-aoc-b.mp4'), '--fps', '2', '--vtt'], {
    env: { ...process.env, ...env },
  });
  t.match(stdout, /^WEBVTT\n\n1\n00:00:00\.\d{3} --> 00:00:0\d\.\d{3}\nAlexandria Ocasio-Cortez\n/, 'a WebVTT track');
});

t.test('scan refuses a missing video with a usage error', async (t) => {
  const err = await promisify(execFile)(process.execPath, [MAIN, 'scan', '--model', '/nonexistent', '/nonexistent.mp4']).catch(
    (e: { code: number; stderr: string }) => e,
  );
  t.equal((err as { code: number }).code, 2);
  t.match((err as { stderr: string }).stderr, /no such video/);
});

t.test("scan detects a frame while the one before is tracked, and follows that frame's faces once the tracker has them", async (t) => {
  const file = await syntheticVideo(320, 240, 2);
  const tracker = new Tracker({ minHits: 2, minConfidence: 0, absentSeconds: 2, reidSeconds: 0 });
  const box = { x: 100, y: 80, width: 60, height: 70 };
  let inFlight = 0;
  let mostInFlight = 0;
  const followed: number[][] = [];
  const analyzer = {
    async analyze(_image: RgbImage, options: { follow?: readonly { id: number; box: Box }[] | Promise<readonly { id: number; box: Box }[]> }) {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      // The detector's time: long enough for the next frame to arrive and start.
      await new Promise((resolve) => setTimeout(resolve, 30));
      const follow = await options.follow;
      followed.push((follow ?? []).map((f) => f.id));
      inFlight--;
      const embedding = new Float32Array(4).fill(0.5);
      return { faces: [{ box, embedding, actor: null, confidence: 0, candidates: [], quality: 1 }], model: null };
    },
  } as unknown as FrameAnalyzer;
  const scanned = await scanVideo(analyzer, {
    video: file,
    fps: 5,
    ffmpegPath: 'ffmpeg',
    tracker,
    schedule: { detectSeconds: 0, tileSeconds: 0, detectOnChange: 0 },
  });
  t.equal(mostInFlight, 2, 'two frames in flight: the next detected while the last is tracked');
  t.same(followed.slice(0, 2), [[], []], 'nothing to follow before the track is announced (two detections)');
  t.ok(
    followed.length === 10 && followed.slice(2).every((ids) => ids.length === 1 && ids[0] === 1),
    `every later frame follows the track as the frame before left it (${JSON.stringify(followed)})`,
  );
  t.equal(scanned.appearances.length, 1, 'one face, one appearance');
  t.equal(scanned.appearances[0]!.samples.length, 10, 'a sample in each of the 10 frames');
});
