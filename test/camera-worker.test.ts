// A camera worker whose analysis is slower than `track.absentSeconds`: a face in every frame stays one track.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { EventBus, type AppearanceEvent } from '../src/publish/event-bus.js';
import { CameraWorker } from '../src/track/camera-worker.js';
import type { AnalyzedFace, FrameAnalyzer } from '../src/track/frame-analyzer.js';
import { capturingLogger, fastSupervision, syntheticVideo, until } from './helpers/ingest.js';

const ffmpegMissing = spawnSync('ffmpeg', ['-version']).error ? 'ffmpeg is not on the PATH: skipped' : undefined;

/** Sees the same face in every frame, taking `ms` per frame, as a loaded Pi does. */
function slowAnalyzer(ms: number): { analyzer: FrameAnalyzer; frames: () => number } {
  let frames = 0;
  const face: AnalyzedFace = { box: { x: 40, y: 30, width: 80, height: 90 }, embedding: new Float32Array(128).fill(0.1), actor: 'Someone', confidence: 0.99, candidates: [{ actor: 'Someone', score: 0.99 }] };
  const analyzer = {
    async analyze() {
      await new Promise((r) => setTimeout(r, ms));
      frames++;
      return { faces: [face] };
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
    const worker = new CameraWorker(
      { id: 'slow', url: video, fps: 5, maxWidth: 1280, loop: true },
      { ingest: fastSupervision(), track: { minHits: 2, minConfidence: 0, absentSeconds: 1 } },
      slow.analyzer,
      bus,
      { frameProcessed: () => undefined, ffmpegRestart: () => undefined },
      log,
    );
    worker.start();
    t.teardown(() => worker.stop());
    t.ok(await until(() => slow.frames() >= 5, 30_000), `${slow.frames()} frames analysed`);
    const kinds = events.map((e) => e.type);
    t.equal(kinds.filter((k) => k === 'appeared').length, 1, `one appearance (${kinds.join(', ')})`);
    t.equal(kinds.filter((k) => k === 'left').length, 0, 'the face never left');
    t.same(worker.status().actors, ['Someone'], 'on screen now');
  });
}
