// `bench --memory`: the daemon's resident memory with 0, 1, 2 file cameras at 5 fps, in a child process of its own.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RecognizerError } from '../errors.js';
import { round } from './bench-report.js';

/** RSS of one daemon over the sampling window. */
export interface MemoryRun {
  cameras: number;
  /** The daemon build measured (this one unless --against named another). */
  build: string;
  peakMb: number;
  meanMb: number;
  /** Least-squares slope over the window: near 0 is flat; a leak shows as a steady climb. */
  slopeMbPerMin: number;
  trend: 'flat' | 'growing' | 'falling';
  /** Frames the cameras analysed in the window (from GET /v1/cameras): the load was real. */
  framesProcessed: number;
  /**
   * Mean time per call of each pipeline stage in the window (the daemon's own stage histogram), so
   * that a memory setting is judged by what it costs in speed in the same run.
   */
  stageMs: Partial<Record<'detect' | 'landmarks' | 'embed', number>>;
  /** Mean from a frame leaving ffmpeg to its faces tracked, over the window. */
  frameToResultMs: number | null;
  warmupSeconds: number;
  windowSeconds: number;
  samples: number;
  /** The malloc and V8 settings of the build's systemd unit, which the daemon ran with (as deployed). */
  env: Record<string, string>;
}

export interface MemoryOptions {
  cameraCounts: number[];
  warmupSeconds: number;
  windowSeconds: number;
  video: string;
  fps: number;
  threads: number;
  /** Another build's main.js, measured interleaved with this one (before/after). */
  against?: string;
}

/** Slower growth than this over the window counts as flat (allocator noise, lazily built caches). */
const FLAT_MB_PER_MIN = 1;
const SAMPLE_MS = 500;

export const THIS_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'main.js');

/** Every camera count, on this build and on `against` if given, one daemon at a time. */
export async function benchMemory(options: MemoryOptions, say: (line: string) => void): Promise<MemoryRun[]> {
  const builds = [THIS_MAIN, ...(options.against ? [path.resolve(options.against)] : [])];
  const runs: MemoryRun[] = [];
  for (const cameras of options.cameraCounts) {
    for (const main of builds) {
      const run = await measureDaemon(main, cameras, options);
      say(
        `  memory, ${cameras} camera(s), ${main === THIS_MAIN ? 'this build' : main}: peak ${run.peakMb} MiB, mean ${run.meanMb} MiB, ${run.trend}; detect ${run.stageMs.detect ?? '-'} ms, frame to result ${run.frameToResultMs ?? '-'} ms`,
      );
      runs.push(run);
    }
  }
  return runs;
}

/** VmRSS of a process in MiB, from /proc (Linux); undefined once it has exited. */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function measureDaemon(main: string, cameras: number, o: MemoryOptions): Promise<MemoryRun> {
  const modelDir = await mkdtemp(path.join(os.tmpdir(), 'ar-bench-model-'));
  const deployed = unitEnvironment(main);
  const child = spawn(process.execPath, [main, 'start'], {
    env: {
      ...process.env,
      ...deployed,
      ACTOR_RECOGNIZER_API_PORT: '0',
      ACTOR_RECOGNIZER_API_HOST: '127.0.0.1',
      ACTOR_RECOGNIZER_MQTT_PORT: '0',
      ACTOR_RECOGNIZER_MODEL_DIR: modelDir,
      ACTOR_RECOGNIZER_VISION_THREADS: String(o.threads),
      ACTOR_RECOGNIZER_LOG_LEVEL: 'info',
      ACTOR_RECOGNIZER_CAMERAS: JSON.stringify(Array.from({ length: cameras }, (_, i) => ({ id: `bench-${i}`, url: o.video, loop: true, fps: o.fps }))),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString());
    if (stderr.length > 20) stderr.shift();
  });
  try {
    const url = await listening(child.stdout, exited, stderr);
    await sleep(o.warmupSeconds * 1000);
    const before = await framesProcessed(url);
    const metricsBefore = await histogramSums(url);
    const samples: [number, number][] = [];
    const t0 = performance.now();
    while (performance.now() - t0 < o.windowSeconds * 1000) {
      const mb = rssMb(child.pid!);
      if (mb === undefined) throw new RecognizerError('INTERNAL', `the daemon (${main}) exited while its memory was measured`);
      samples.push([(performance.now() - t0) / 60_000, mb]);
      await sleep(SAMPLE_MS);
    }
    const frames = (await framesProcessed(url)) - before;
    const { stageMs, frameToResultMs } = meansBetween(metricsBefore, await histogramSums(url));
    const mbs = samples.map((s) => s[1]);
    const slope = slopeOf(samples);
    return {
      cameras,
      build: main === THIS_MAIN ? 'this' : main,
      peakMb: round(Math.max(...mbs), 0),
      meanMb: round(mbs.reduce((a, b) => a + b, 0) / mbs.length, 0),
      slopeMbPerMin: round(slope, 1),
      trend: Math.abs(slope) < FLAT_MB_PER_MIN ? 'flat' : slope > 0 ? 'growing' : 'falling',
      framesProcessed: frames,
      stageMs,
      frameToResultMs,
      warmupSeconds: o.warmupSeconds,
      windowSeconds: o.windowSeconds,
      samples: samples.length,
      env: deployed,
    };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000, undefined, { ref: false }).then(() => child.kill('SIGKILL'))]);
    await rm(modelDir, { recursive: true, force: true });
  }
}

/**
 * The MALLOC_* variables and NODE_OPTIONS the build's systemd unit sets (the recipe sets the same): RSS depends on
 * them, so each build is measured as it is deployed, and a before/after includes a change of them.
 */
export function unitEnvironment(main: string): Record<string, string> {
  const unit = path.resolve(path.dirname(main), '..', '..', 'systemd', 'actor-recognizer.service');
  let text = '';
  try {
    text = readFileSync(unit, 'utf8');
  } catch {
    return {};
  }
  return Object.fromEntries([...text.matchAll(/^Environment=(MALLOC_[A-Z_]+|NODE_OPTIONS)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The API's URL, from the daemon's `REST API listening` log line. */
function listening(stdout: NodeJS.ReadableStream, exited: Promise<number | null>, stderr: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const tail: string[] = [];
    stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'REST API listening' && entry.url) resolve(entry.url);
        } catch {
          // not a log line
        }
      }
    });
    void exited.then((code) =>
      reject(new RecognizerError('INTERNAL', `the daemon exited (${code}) before listening:\n${tail.join('\n')}\n${stderr.join('')}`)),
    );
  });
}

async function framesProcessed(url: string): Promise<number> {
  const res = await fetch(`${url}/v1/cameras`);
  const body = (await res.json()) as { cameras: { framesProcessed: number }[] };
  return body.cameras.reduce((a, c) => a + c.framesProcessed, 0);
}

/** `_sum` and `_count` of the stage and frame-to-result histograms, keyed `stage:detect`, `frame`. */
async function histogramSums(url: string): Promise<Map<string, { sum: number; count: number }>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return parseHistogramSums(text);
}

/** The sums and counts of the Prometheus text that the bench needs (cameras' frame-to-result added up). */
export function parseHistogramSums(text: string): Map<string, { sum: number; count: number }> {
  const out = new Map<string, { sum: number; count: number }>();
  const re = /^actor_recognizer_(stage|frame_to_result)_seconds_(sum|count)\{([^}]*)\} (\S+)$/gm;
  for (const m of text.matchAll(re)) {
    const key = m[1] === 'stage' ? `stage:${/stage="([^"]+)"/.exec(m[3]!)?.[1] ?? ''}` : 'frame';
    const entry = out.get(key) ?? { sum: 0, count: 0 };
    entry[m[2] as 'sum' | 'count'] += Number(m[4]);
    out.set(key, entry);
  }
  return out;
}

/** Mean milliseconds per call of each histogram between two readings. */
export function meansBetween(
  before: Map<string, { sum: number; count: number }>,
  after: Map<string, { sum: number; count: number }>,
): { stageMs: MemoryRun['stageMs']; frameToResultMs: number | null } {
  const mean = (key: string): number | null => {
    const a = after.get(key);
    const b = before.get(key) ?? { sum: 0, count: 0 };
    if (!a || a.count <= b.count) return null;
    return round(((a.sum - b.sum) / (a.count - b.count)) * 1000, 1);
  };
  const stageMs: MemoryRun['stageMs'] = {};
  for (const stage of ['detect', 'landmarks', 'embed'] as const) {
    const ms = mean(`stage:${stage}`);
    if (ms !== null) stageMs[stage] = ms;
  }
  return { stageMs, frameToResultMs: mean('frame') };
}

/** Least-squares slope of y over x. */
export function slopeOf(points: readonly [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den > 0 ? num / den : 0;
}

function stageColumn(r: MemoryRun): string {
  const ms = (v: number | null | undefined) => (v === null || v === undefined ? '-' : String(v));
  return [r.stageMs.detect, r.stageMs.landmarks, r.stageMs.embed, r.frameToResultMs].map(ms).join(' / ');
}

export function formatMemory(runs: readonly MemoryRun[]): string {
  const rows = runs.map(
    (r) =>
      `  ${String(r.cameras).padStart(7)}  ${String(r.peakMb).padStart(7)}  ${String(r.meanMb).padStart(7)}  ${String(r.slopeMbPerMin).padStart(8)}  ${r.trend.padEnd(7)}  ${String(r.framesProcessed).padStart(6)}  ${stageColumn(r).padEnd(31)}  ${r.build}`,
  );
  const w = runs[0];
  return [
    `daemon RSS (VmRSS, MiB), ${w?.warmupSeconds ?? 0} s warm-up then ${w?.windowSeconds ?? 0} s sampled every ${SAMPLE_MS} ms:`,
    '  cameras     peak     mean  MiB/min  trend    frames  detect/landmarks/embed/frame ms  build',
    ...rows,
    ...[
      ...new Set(
        runs.map(
          (r) =>
            `  ${r.build}: ${
              Object.entries(r.env)
                .map(([k, v]) => `${k}=${v}`)
                .join(' ') || 'no MALLOC_* or NODE_OPTIONS in its systemd unit'
            }`,
        ),
      ),
    ],
  ].join('\n');
}
