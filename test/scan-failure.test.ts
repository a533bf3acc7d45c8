// `scan` when the analysis of a frame fails, or its model cannot be loaded: the scan fails with it, and its ffmpeg does not outlive it.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import { scanCommand, scanVideo } from '../src/cli/scan.js';
import { loadConfig } from '../src/config/load.js';
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

/** The command line of any process still reading `video`. */
async function readers(video: string): Promise<string> {
  return promisify(execFile)('pgrep', ['-af', video]).then(
    ({ stdout }) => stdout.trim(),
    () => '',
  );
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
  t.equal(await readers(video), '', 'no ffmpeg left on the video');
});

t.test('a scan whose model cannot be loaded ends the ffmpeg it started while loading it', async (t) => {
  // Long enough that ffmpeg is still decoding, or paused with frames waiting, when the model fails.
  const video = await syntheticVideo(320, 240, 20);
  const config = loadConfig({ env: {} });
  await t.rejects(scanCommand({ config, json: true }, { model: '/nonexistent-model', video, vtt: false }), { code: 'MODEL_NOT_FOUND' });
  t.equal(await readers(video), '', 'no ffmpeg left on the video');
});
