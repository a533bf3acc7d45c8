// `bench --scan`: how many times faster than real time `scan` reads the datasets' videos at 5 samples/s.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { FrameAnalyzer } from '../track/frame-analyzer.js';
import { Tracker } from '../track/tracker.js';
import { createFacePipeline, detectOptions } from '../vision/create-backend.js';
import { round } from './bench-report.js';
import { commandModel } from './common.js';
import { scanVideo } from './scan.js';

export interface ScanRun {
  video: string;
  /** Seconds of video. */
  durationSeconds: number;
  /**
   * Seconds `scan` took, models loaded beforehand (a long video pays their loading once), to the
   * millisecond: the 5-frame clip scans in about 0.2 s, where hundredths put its `realtime` up to 2.5% off.
   */
  wallSeconds: number;
  /** durationSeconds / wallSeconds: 10 means ten times faster than real time. */
  realtime: number;
  appearances: number;
}

export interface ScanBench {
  fps: number;
  videos: ScanRun[];
  /** All videos together: their summed duration over their summed time. */
  realtime: number;
}

/** The shortest clip, for the quick run the tests use. */
const QUICK = 'bbt-comic-store-5frames.mp4';

/** Every video of the datasets through scan's own loop (scanVideo), with the configured pipeline and model. */
export async function benchScan(config: Config, videosDir: string, o: { fps: number; quick: boolean }, say: (line: string) => void): Promise<ScanBench> {
  if (!existsSync(videosDir)) return { fps: o.fps, videos: [], realtime: NaN };
  const files = (await readdir(videosDir))
    .filter((f) => f.endsWith('.mp4') && (!o.quick || f === QUICK))
    .sort()
    .map((f) => path.join(videosDir, f));
  const models = await commandModel(config, undefined, { optional: true });
  const pipeline = await createFacePipeline(config.vision);
  const videos: ScanRun[] = [];
  try {
    const detect = detectOptions(config.vision);
    for (const video of files) {
      const t0 = performance.now();
      const scanned = await scanVideo(new FrameAnalyzer(pipeline.backend, detect, models, pipeline.embedder.spec), {
        video,
        fps: o.fps,
        ffmpegPath: config.ingest.ffmpegPath,
        tracker: new Tracker({ ...config.track, link: pipeline.embedder.tuning.link }),
        schedule: config.track,
      });
      const wall = (performance.now() - t0) / 1000;
      videos.push({
        video: path.basename(video),
        durationSeconds: scanned.duration,
        wallSeconds: round(wall, 3),
        realtime: round(scanned.duration / wall),
        appearances: scanned.appearances.length,
      });
      say(`  scan ${path.basename(video)}: ${scanned.duration} s of video in ${round(wall)} s (${round(scanned.duration / wall)}× real time)`);
    }
  } finally {
    await models.stop();
    await pipeline.backend.stop();
  }
  const sum = (pick: (r: ScanRun) => number) => videos.reduce((a, r) => a + pick(r), 0);
  return { fps: o.fps, videos, realtime: round(sum((r) => r.durationSeconds) / sum((r) => r.wallSeconds)) };
}

export function formatScan(s: ScanBench): string {
  const rows = s.videos.map(
    (v) => `  ${v.video.padEnd(32)} ${String(v.durationSeconds).padStart(7)} s in ${String(v.wallSeconds).padStart(7)} s  ${v.realtime}× real time`,
  );
  return [`scan at ${s.fps} samples/s (models loaded beforehand):`, ...rows, `  all together: ${s.realtime}× real time`].join('\n');
}
