// `scan` end to end: enrolled from one clip, found in another (a crowd of strangers: test/slow/scan-crowd).
import t from 'tap';
import { cliJson } from './helpers/cli.js';
import { AOC, aocModel, video, videosMissing } from './helpers/videos.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MAIN } from './helpers/cli.js';

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
