// Helpers for ingest tests: synthetic videos, a local RTSP server, a logger whose lines we can read.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import type { Logger } from '../../src/logger.js';
import type { SupervisionOptions } from '../../src/ingest/camera-source.js';

/** A test-pattern H.264 clip of `width`×`height`, `seconds` long, made by ffmpeg itself. */
export async function syntheticVideo(width: number, height: number, seconds: number): Promise<string> {
  const out = path.join(await mkdtemp(path.join(os.tmpdir(), 'ar-video-')), `pattern-${width}x${height}.mp4`);
  await promisify(execFile)('ffmpeg', [
    '-v',
    'error',
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=${width}x${height}:rate=25`,
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '25',
    out,
  ]);
  return out;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

/**
 * One ffmpeg serving a looped file as a live MPEG-TS stream over HTTP, as a capture box would. (ffmpeg
 * serves HTTP itself; RTSP needs the small server in rtsp-server.ts.)
 */
export function httpStreamServer(file: string, port: number): ChildProcess {
  return spawn(
    'ffmpeg',
    ['-v', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'mpegts', '-listen', '1', `http://127.0.0.1:${port}/live.ts`],
    { stdio: 'ignore' },
  );
}

/** A pino logger that keeps its lines. */
export function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

/** Fast supervision for tests: short backoff and stall time. */
export function fastSupervision(overrides: Partial<SupervisionOptions> = {}): SupervisionOptions {
  return {
    ffmpegPath: 'ffmpeg',
    stallSeconds: 3,
    backoffInitialMs: 100,
    backoffMaxMs: 1000,
    maxRestarts: 30,
    restartWindowSeconds: 60,
    failedRetrySeconds: 1,
    ...overrides,
  };
}

/** Polls `check` until it is true or `ms` pass. */
export async function until(check: () => boolean, ms: number, step = 100): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, step));
  }
  return check();
}

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
