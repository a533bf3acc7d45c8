// `scan` when the analysis of a frame fails: the scan fails with it, and its ffmpeg does not outlive it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { scanVideo } from '../src/cli/scan.js';
import { FrameAnalyzer } from '../src/track/frame-analyzer.js';
import { Tracker } from '../src/track/tracker.js';
import { embedderSpec } from '../src/vision/embedder.js';
import type { Detection, FaceBackend } from '../src/vision/types.js';
import { syntheticVideo } from './helpers/ingest.js';

/** A backend whose `failing`-th detection throws; it finds no face otherwise. */
function failingBackend(failing: number): FaceBackend {
  let calls = 0;
  return {
    name: 'failing',
    async start() {},
    async stop() {},
    async detect(): Promise<Detection[]> {
      throw new Error('video frames are detected at their own aspect');
    },
    detectScaled: async (): Promise<Detection[]> => {
      if (++calls === failing) throw new Error(`detection ${calls} failed`);
      return [];
    },
    async landmarks() {
      return [];
    },
    async embed() {
      return [];
    },
  };
}

t.test('a failed detection fails the scan, and ffmpeg goes with it', async (t) => {
  // Long enough that ffmpeg is still decoding (or paused, frames waiting) when the third detection fails.
  const video = await syntheticVideo(320, 240, 20);
  const analyzer = new FrameAnalyzer(failingBackend(3), { minScore: 0.5, maxFaces: 20, tileZoom: 0 }, { current: () => null }, embedderSpec('face-api-68'));
  await t.rejects(
    scanVideo(analyzer, {
      video,
      fps: 5,
      ffmpegPath: 'ffmpeg',
      tracker: new Tracker({ minHits: 2, absentSeconds: 1, minConfidence: 0, reidSeconds: 0 }),
      schedule: { detectSeconds: 0.4, tileSeconds: 10, detectOnChange: 0 },
    }),
    /detection 3 failed/,
  );
  const left = await promisify(execFile)('pgrep', ['-f', video]).then(
    ({ stdout }) => stdout.trim(),
    () => '',
  );
  t.equal(left, '', 'no ffmpeg left on the video');
});
