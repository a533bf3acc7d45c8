// A camera worker whose analysis is slower than `track.absentSeconds`: a face in every frame stays one track.
import { execFile, spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rename } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { EventBus, type ActorsOnScreen, type AppearanceEvent } from '../src/events/event-bus.js';
import type { AnalyzedFace, FrameAnalyzer } from '../src/track/frame-analyzer.js';
import { startWorker } from './helpers/camera-worker.js';
import { capturingLogger, syntheticVideo, until } from './helpers/ingest.js';

const ffmpegMissing = spawnSync('ffmpeg', ['-version']).error ? 'ffmpeg is not on the PATH: skipped' : undefined;

/** A model of one actor, as the analyzer reports it with each frame. */
const SOMEONE = { version: 'test', actors: ['Someone'], score: 'cosine' as const, thresholds: [0.9] };

function unitVector(size: number, value: (i: number) => number): Float32Array {
  const v = Float32Array.from({ length: size }, (_, i) => value(i));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** Someone's face, named surely, in the same place. */
function someone(): AnalyzedFace {
  return {
    box: { x: 40, y: 30, width: 80, height: 90 },
    embedding: unitVector(128, () => 1),
    actor: 'Someone',
    confidence: 0.99,
    candidates: [{ actor: 'Someone', score: 0.99 }],
    scores: Float32Array.of(0.99),
    quality: 1,
  };
}

/** Sees the same face in every frame, taking `ms` per frame, as a loaded Pi does. */
function slowAnalyzer(ms: number): { analyzer: FrameAnalyzer; frames: () => number } {
  let frames = 0;
  const face = someone();
  const analyzer = {
    async analyze() {
      await new Promise((r) => setTimeout(r, ms));
      frames++;
      return { faces: [face], model: SOMEONE };
    },
  } as unknown as FrameAnalyzer;
  return { analyzer, frames: () => frames };
}

if (ffmpegMissing) {
  t.plan(0, ffmpegMissing);
} else {
  t.test('analysis slower than absentSeconds: one appearance, no left, while the face stays in every frame', async (t) => {
    const video = await syntheticVideo(320, 240, 4);
    const { log } = capturingLogger();
    const bus = new EventBus(log);
    const events: AppearanceEvent[] = [];
    bus.on('appearance', (e) => events.push(e));
    const slow = slowAnalyzer(1600);
    const worker = startWorker(t, { id: 'slow', url: video, absentSeconds: 1 }, slow.analyzer, bus, log);
    t.ok(await until(() => slow.frames() >= 5, 30_000), `${slow.frames()} frames analysed`);
    const kinds = events.map((e) => e.type);
    t.equal(kinds.filter((k) => k === 'appeared').length, 1, `one appearance (${kinds.join(', ')})`);
    t.equal(kinds.filter((k) => k === 'left').length, 0, 'the face never left');
    t.same(worker.status().actors, ['Someone'], 'on screen now');
  });

  t.test("who is on screen is said at once, with confidences and since; an unknown face's confidence is one number on MQTT and REST", async (t) => {
    const video = await syntheticVideo(320, 240, 4);
    const { log } = capturingLogger();
    const bus = new EventBus(log);
    const events: AppearanceEvent[] = [];
    const onScreen: ActorsOnScreen[] = [];
    bus.on('appearance', (e) => events.push(e));
    bus.on('actors', (a) => onScreen.push(a));
    const named: AnalyzedFace = {
      box: { x: 20, y: 30, width: 80, height: 90 },
      embedding: unitVector(128, () => 1),
      actor: 'Someone',
      confidence: 0.987,
      candidates: [{ actor: 'Someone', score: 0.987 }],
      scores: Float32Array.of(0.987),
      quality: 1,
    };
    const stranger: AnalyzedFace = {
      box: { x: 200, y: 30, width: 80, height: 90 },
      embedding: unitVector(128, (i) => (i % 2 ? 1 : -1)),
      actor: null,
      confidence: 0.6123,
      candidates: [{ actor: 'Someone', score: 0.6123 }],
      scores: Float32Array.of(0.6123),
      quality: 1,
    };
    const analyzer = { analyze: async () => ({ faces: [named, stranger], model: SOMEONE }) } as unknown as FrameAnalyzer;
    const worker = startWorker(t, { id: 'room', url: video, absentSeconds: 2 }, analyzer, bus, log);
    t.match(onScreen[0], { camera: 'room', actors: [], unknown: 0 }, 'an empty list as soon as the camera starts, before any frame');
    t.ok(await until(() => onScreen.some((a) => a.actors.length > 0) && events.some((e) => e.actor === null), 30_000), 'then the named face and the stranger');
    const now = onScreen.find((a) => a.actors.length > 0)!;
    t.match(now, { actors: ['Someone'], confidences: { Someone: 0.987 }, unknown: 1 }, 'names, confidences and the strangers on screen');
    t.ok(Date.parse(now.since!['Someone']!) <= Date.parse(now.at), 'since when');
    const unknown = events.find((e) => e.actor === null)!;
    const rest = worker.status().faces.find((f) => f.actor === null)!;
    t.equal(unknown.confidence, 0.612, "the event carries the face's score");
    t.equal(rest.confidence, unknown.confidence, 'the same number as GET /v1/cameras');
  });

  /** Someone's face found by the detector and, from the second frame, by the look into its track's last box too; known when the worker says so. */
  function followingAnalyzer(): { analyzer: FrameAnalyzer; seen: { follow: number; known: number }[] } {
    const seen: { follow: number; known: number }[] = [];
    const analyzer = {
      async analyze(_image: unknown, options: { follow?: { id: number }[]; known?: { id: number }[] }) {
        const follow = options.follow ?? [];
        const known = options.known ?? [];
        seen.push({ follow: follow.length, known: known.length });
        const face = someone();
        // Settled: the face found in its place, not looked at again (FrameAnalyzer's `known`).
        if (known[0])
          return {
            faces: [{ ...face, embedding: new Float32Array(0), actor: null, confidence: 0, candidates: [], quality: 0, known: known[0].id }],
            model: SOMEONE,
          };
        const faces: AnalyzedFace[] = [face];
        if (follow[0]) faces.push({ ...someone(), box: { x: 44, y: 30, width: 80, height: 90 }, confidence: 0.5, follows: follow[0].id });
        return { faces, model: SOMEONE };
      },
    } as unknown as FrameAnalyzer;
    return { analyzer, seen };
  }

  t.test('a face is shown once: the look into the box of a track that took a detection is dropped', async (t) => {
    const video = await syntheticVideo(320, 240, 4);
    const { log } = capturingLogger();
    const { analyzer, seen } = followingAnalyzer();
    const worker = startWorker(t, { id: 'once', url: video, absentSeconds: 2 }, analyzer, new EventBus(log), log);
    t.ok(await until(() => seen.filter((s) => s.follow > 0).length >= 2, 30_000), 'frames with the face detected and followed');
    const shown = worker.status().faces;
    t.same(
      shown.map((f) => [f.actor, f.confidence]),
      [['Someone', 0.99]],
      'one face on screen, the detected one',
    );
  });

  t.test("a known face shows its track's name and confidence", async (t) => {
    const video = await syntheticVideo(320, 240, 4);
    const { log } = capturingLogger();
    const { analyzer, seen } = followingAnalyzer();
    const worker = startWorker(t, { id: 'known', url: video, absentSeconds: 2 }, analyzer, new EventBus(log), log, {
      detectSeconds: 0,
      tileSeconds: 0,
      detectOnChange: 0,
      embedSeconds: 5,
    });
    t.ok(await until(() => seen.some((s) => s.known > 0), 30_000), 'three embedded faces later, the face is known');
    t.ok(await until(() => worker.status().faces.length > 0 && seen.at(-1)!.known > 0, 30_000));
    t.same(
      worker.status().faces.map((f) => [f.actor, f.confidence]),
      [['Someone', 0.99]],
    );
  });

  t.test('the tiles are looked at while the camera keeps up, and skipped on the frame after one that fell behind', async (t) => {
    const video = await syntheticVideo(320, 240, 4);
    const { log } = capturingLogger();
    const looks: boolean[] = [];
    const face = someone();
    // With tiles a frame takes twice the frame interval (5 fps: 200 ms); without, a quarter of it.
    const analyzer = {
      async analyze(_image: unknown, options: { tiles?: boolean } = {}) {
        looks.push(options.tiles !== false);
        await new Promise((r) => setTimeout(r, options.tiles === false ? 50 : 400));
        return { faces: [face], model: SOMEONE };
      },
    } as unknown as FrameAnalyzer;
    startWorker(t, { id: 'tiles', url: video, absentSeconds: 1 }, analyzer, new EventBus(log), log);
    t.ok(await until(() => looks.length >= 8, 30_000), `${looks.length} frames analysed`);
    t.equal(looks[0], true, 'the first frame gets the second look');
    t.ok(looks.includes(false), `skipped after a slow frame: ${looks.map((l) => (l ? 'T' : '-')).join('')}`);
    t.notOk(
      looks.some((l, i) => !l && looks[i + 1] === false),
      'never two frames in a row without it',
    );
  });

  t.test('a frame of three strips takes them on three consecutive frames, one each, not all on one frame', async (t) => {
    const video = await syntheticVideo(320, 240, 4);
    const { log } = capturingLogger();
    const looks: (number | undefined)[] = [];
    const face = someone();
    const analyzer = {
      secondLookPasses: (frame: { width: number; height: number }) => (frame.width === 320 && frame.height === 240 ? 3 : 0),
      async analyze(_image: unknown, options: { tiles?: boolean; tilePart?: number } = {}) {
        looks.push(options.tiles === false ? undefined : options.tilePart);
        return { faces: [face], model: SOMEONE };
      },
    } as unknown as FrameAnalyzer;
    // Detection every second and the look every ten: without the sweep, frames 2 and 3 would be carried.
    startWorker(t, { id: 'sweep', url: video, absentSeconds: 5 }, analyzer, new EventBus(log), log, {
      detectSeconds: 1,
      tileSeconds: 10,
      detectOnChange: 0,
      embedSeconds: 0,
    });
    t.ok(await until(() => looks.length >= 5, 30_000), `${looks.length} frames analysed`);
    t.same(looks.slice(0, 3), [0, 1, 2], 'the first frame takes the first strip, the next two frames the others');
    t.same(looks.slice(3, 5), [undefined, undefined], 'then detection alone, on the schedule`s frames');
  });

  t.test('a track named late says so: identified carries the name it had before', async (t) => {
    const video = await syntheticVideo(320, 240, 4);
    const { log } = capturingLogger();
    const bus = new EventBus(log);
    const events: AppearanceEvent[] = [];
    bus.on('appearance', (e) => events.push(e));
    let frames = 0;
    const face = (named: boolean): AnalyzedFace => ({
      box: { x: 40, y: 30, width: 80, height: 90 },
      embedding: unitVector(128, () => 1),
      actor: named ? 'Someone' : null,
      confidence: named ? 0.99 : 0.3,
      candidates: [{ actor: 'Someone', score: named ? 0.99 : 0.3 }],
      scores: Float32Array.of(named ? 0.99 : 0.3),
      quality: 1,
    });
    // Unnamed for its first frames, then clearly named: the track is announced unknown, then identified.
    const analyzer = { analyze: async () => ({ faces: [face(++frames > 4)], model: SOMEONE }) } as unknown as FrameAnalyzer;
    startWorker(t, { id: 'late', url: video, absentSeconds: 5 }, analyzer, bus, log);
    t.ok(await until(() => events.some((e) => e.type === 'identified'), 30_000), `identified (${events.map((e) => `${e.type}:${e.actor}`).join(', ')})`);
    t.match(events[0], { type: 'appeared', actor: null }, 'announced as unknown first');
    const identified = events.find((e) => e.type === 'identified');
    t.equal(identified?.actor, 'Someone', 'then named');
    t.equal(identified?.previous, null, 'saying it was unknown before');
  });

  t.test('a restarted camera: the tracks go on over the same picture, and end when it shows another', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-restart-'));
    const url = path.join(dir, 'camera.mp4');
    await copyFile(await syntheticVideo(320, 240, 4), url);
    const { log } = capturingLogger();
    const bus = new EventBus(log);
    const events: AppearanceEvent[] = [];
    bus.on('appearance', (e) => events.push(e));
    const slow = slowAnalyzer(20);
    const worker = startWorker(t, { id: 'restarted', url, absentSeconds: 30 }, slow.analyzer, bus, log);
    const kinds = () => events.map((e) => e.type).join(', ');
    t.ok(await until(() => events.some((e) => e.type === 'appeared'), 30_000), `appeared (${kinds()})`);
    // ffmpeg again on the same file (a network blip): the same picture, so no cut.
    let seen = slow.frames();
    worker.restart();
    t.ok(await until(() => slow.frames() >= seen + 6, 30_000), `${slow.frames() - seen} frames after the restart`);
    t.equal(events.filter((e) => e.type === 'left').length, 0, `the track went on over the same picture (${kinds()})`);
    // Another picture after the next restart (a solid colour where the test pattern was): a cut ends the track.
    const other = path.join(dir, 'other.mp4');
    await promisify(execFile)('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=0x803020:size=320x240:rate=25', '-t', '2', '-pix_fmt', 'yuv420p', other]);
    await rename(other, url);
    seen = slow.frames();
    worker.restart();
    t.ok(await until(() => events.some((e) => e.type === 'left'), 30_000), `the track ended at the new picture (${kinds()})`);
    t.ok(await until(() => events.filter((e) => e.type === 'appeared').length === 2, 30_000), `and the face there is a new appearance (${kinds()})`);
  });
}
