// A camera worker for tests: a looping file camera, every frame detected, stopped at the test's end.
import type { Test } from 'tap';
import type { EventBus } from '../../src/events/event-bus.js';
import { CameraWorker } from '../../src/track/camera-worker.js';
import type { FrameAnalyzer } from '../../src/track/frame-analyzer.js';
import { capturingLogger, fastSupervision } from './ingest.js';

/** Detection on every frame, tiles on every frame the worker keeps up with, every face embedded: the schedule does not thin these tests' frames. */
export const EVERY_FRAME = { detectSeconds: 0, tileSeconds: 0, detectOnChange: 0, embedSeconds: 0 };

/** A camera worker on `url` (5 fps and 1280 px unless said), looping, detecting on every frame, stopped at the test's end. */
export function startWorker(
  t: Test,
  camera: { id: string; url: string; absentSeconds: number; fps?: number; maxWidth?: number },
  analyzer: FrameAnalyzer,
  bus: EventBus,
  log: ReturnType<typeof capturingLogger>['log'],
  schedule: typeof EVERY_FRAME = EVERY_FRAME,
): CameraWorker {
  // A fake analyzer that says nothing of the second look takes it in one pass.
  if (!('secondLookPasses' in analyzer)) Object.assign(analyzer, { secondLookPasses: () => 1 });
  const worker = new CameraWorker(
    { id: camera.id, url: camera.url, fps: camera.fps ?? 5, maxWidth: camera.maxWidth ?? 1280, loop: true },
    { ingest: fastSupervision(), track: { minHits: 2, minConfidence: 0, absentSeconds: camera.absentSeconds, reidSeconds: 0, ...schedule } },
    analyzer,
    bus,
    { frameProcessed: () => undefined, ffmpegRestart: () => undefined },
    log,
  );
  worker.start();
  t.teardown(() => worker.stop());
  return worker;
}
