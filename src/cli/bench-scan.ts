// `bench --scan`: how many times faster than real time `scan` reads the datasets' videos at 5 samples/s.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/schema.js';
import { FrameAnalyzer } from '../track/frame-analyzer.js';
import { Tracker } from '../track/tracker.js';
import { createFacePipeline, detectOptions } from '../vision/create-backend.js';
import { percentile, round } from './bench-report.js';
import { commandModel } from './common.js';
import { ScanSource, scanVideo } from './scan.js';

export interface ScanRun {
  video: string;
  /** Seconds of video. */
  durationSeconds: number;
  /**
   * Seconds `scan` took, models loaded beforehand (a long video pays their loading once), to the
   * millisecond (the 5-frame clip scans in about 0.2 s, where hundredths put its `realtime` up to 2.5%
   * off): the median of the rounds.
   */
  wallSeconds: number;
  /** Each round's seconds, in the order run. */
  walls: number[];
  /**
   * Seconds from the scan's start to its first frame (ffmpeg's start: about 0.1 s), the median of the
   * rounds: most of a clip's time, where `realtime` says little of a longer video.
   */
  firstFrameSeconds: number;
  /** durationSeconds / wallSeconds: 10 means ten times faster than real time. */
  realtime: number;
  appearances: number;
}

export interface ScanBench {
  fps: number;
  /** Times every video was scanned, the videos in turn within each round. */
  rounds: number;
  videos: ScanRun[];
  /** All videos together: their summed duration over their summed time. */
  realtime: number;
}

/** The shortest clip, for the quick run the tests use. */
const QUICK = 'bbt-comic-store-5frames.mp4';

/**
 * Every video of the datasets through scan's own loop (scanVideo), with the configured pipeline and
 * model, `rounds` times: each round scans every video in turn, and a video's time is the median of its
 * rounds (nearest rank, as the stages' p50: the lower of two). On a shared machine one scan of the same
 * build swung from 7.4 to 12.4× real time over an hour (2026-11-30): one round says more of the
 * machine's neighbours than of the build.
 */
export async function benchScan(
  config: Config,
  videosDir: string,
  o: { fps: number; quick: boolean; rounds: number },
  say: (line: string) => void,
): Promise<ScanBench> {
  if (!existsSync(videosDir)) return { fps: o.fps, rounds: o.rounds, videos: [], realtime: NaN };
  const files = (await readdir(videosDir))
    .filter((f) => f.endsWith('.mp4') && (!o.quick || f === QUICK))
    .sort()
    .map((f) => path.join(videosDir, f));
  const models = await commandModel(config, undefined, { optional: true });
  const pipeline = await createFacePipeline(config.vision);
  const runs = new Map<string, { duration: number; walls: number[]; firsts: number[]; appearances: number }>();
  try {
    const detect = detectOptions(config.vision);
    for (let pass = 1; pass <= o.rounds; pass++) {
      for (const video of files) {
        const t0 = performance.now();
        const source = new ScanSource({ video, fps: o.fps, ffmpegPath: config.ingest.ffmpegPath });
        const scanned = await scanVideo(new FrameAnalyzer(pipeline.backend, detect, models, pipeline.embedder.spec), {
          video,
          fps: o.fps,
          ffmpegPath: config.ingest.ffmpegPath,
          tracker: new Tracker({ ...config.track, link: pipeline.embedder.tuning.link }),
          schedule: config.track,
          source,
        });
        const wall = (performance.now() - t0) / 1000;
        const run = runs.get(video) ?? { duration: scanned.duration, walls: [], firsts: [], appearances: scanned.appearances.length };
        run.walls.push(round3(wall));
        run.firsts.push(round3(((source.firstFrameAt ?? NaN) - t0) / 1000));
        runs.set(video, run);
        const of = o.rounds > 1 ? `, round ${pass} of ${o.rounds}` : '';
        say(`  scan ${path.basename(video)}: ${scanned.duration} s of video in ${round(wall)} s (${round(scanned.duration / wall)}× real time${of})`);
      }
    }
  } finally {
    await models.stop();
    await pipeline.backend.stop();
  }
  const videos: ScanRun[] = [...runs].map(([video, r]) => {
    const wall = percentile(
      [...r.walls].sort((a, b) => a - b),
      50,
    );
    return {
      video: path.basename(video),
      durationSeconds: r.duration,
      wallSeconds: round3(wall),
      walls: r.walls,
      firstFrameSeconds: round3(
        percentile(
          [...r.firsts].sort((a, b) => a - b),
          50,
        ),
      ),
      realtime: round(r.duration / wall),
      appearances: r.appearances,
    };
  });
  const sum = (pick: (r: ScanRun) => number) => videos.reduce((a, r) => a + pick(r), 0);
  return { fps: o.fps, rounds: o.rounds, videos, realtime: round(sum((r) => r.durationSeconds) / sum((r) => r.wallSeconds)) };
}

const round3 = (x: number) => round(x, 3);

export function formatScan(s: ScanBench): string {
  const rows = s.videos.map((v) => {
    const range =
      v.walls.length > 1
        ? `  (${s.rounds} rounds: ${round(v.durationSeconds / Math.max(...v.walls))}–${round(v.durationSeconds / Math.min(...v.walls))}×)`
        : '';
    // A clip of a few frames is mostly its start: ffmpeg's, and the full look at its first frame.
    const start = v.firstFrameSeconds > v.wallSeconds / 3 ? `  (its first frame ${v.firstFrameSeconds} s in: mostly the start)` : '';
    return `  ${v.video.padEnd(32)} ${String(v.durationSeconds).padStart(7)} s in ${String(v.wallSeconds).padStart(7)} s  ${v.realtime}× real time${range}${start}`;
  });
  const how = s.rounds > 1 ? `, the median of ${s.rounds} rounds` : '';
  return [`scan at ${s.fps} samples/s (models loaded beforehand${how}):`, ...rows, `  all together: ${s.realtime}× real time`].join('\n');
}
