// `bench --live`: frame-to-MQTT latency, from a frame leaving ffmpeg to its message reaching a subscriber of a real broker.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connectAsync } from 'mqtt';
import type { Config } from '../config/schema.js';
import { RecognizerError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { percentile, round } from './bench-report.js';
import type { CommandHost } from './command.js';

/** How much longer than its window the measurement may run to collect minMessages. */
const EXTRA_SECONDS = 30;

export interface LatencyRun {
  /** Messages matched to the frame behind them (appearance events and actors-on-screen changes). */
  n: number;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
  /** Frames the camera analysed in the window, and the window. */
  framesProcessed: number;
  windowSeconds: number;
  fps: number;
  video: string;
  /** The broker: `embedded` (the daemon's own, on a free port) or the URL asked for. */
  broker: string;
}

export interface LiveOptions {
  /** Clips joined into the one the camera loops: each join is a cut, so tracks end and start there. */
  videos: string[];
  fps: number;
  windowSeconds: number;
  /** Seconds after start before messages count: loading sessions and starting ffmpeg is not what a running daemon sees. */
  warmupSeconds: number;
  /** After the window, keep measuring (up to EXTRA_SECONDS more) until this many messages arrived. */
  minMessages: number;
  /** A broker to use instead of the daemon's embedded one (e.g. mqtt://127.0.0.1:1883). */
  mqttUrl?: string;
}

/**
 * Starts the daemon's live side in this process with one file camera looping `video` and subscribes
 * to its topics. Each appearance and actors message is matched to its bus event, which carries the
 * arrival time of the frame behind it (frameReceivedAt: Date.now() when its last byte left ffmpeg,
 * the same clock the frame_to_result metric uses); the latency is the subscriber's Date.now() at the
 * message minus that. The camera's first `actors` (nobody yet, said at start) has no frame and is left out.
 */
export async function benchLive(config: Config, host: CommandHost, o: LiveOptions): Promise<LatencyRun> {
  if (!host.createDaemon) throw new RecognizerError('USAGE', 'bench --live runs only from the actor-recognizer command');
  const modelDir = await mkdtemp(path.join(os.tmpdir(), 'ar-bench-model-'));
  const prefix = `ar-bench-${process.pid}`;
  const camera = 'bench';
  const video = await joinClips(o.videos, modelDir);
  const live: Config = {
    ...config,
    api: { ...config.api, host: '127.0.0.1', port: 0 },
    mqtt: { ...config.mqtt, url: o.mqttUrl, port: 0, host: '127.0.0.1', topicPrefix: prefix, homeAssistant: false },
    model: { ...config.model, dir: modelDir },
    cameras: [{ id: camera, url: video, loop: true, fps: o.fps, maxWidth: 1280 }],
  };
  const daemon = host.createDaemon(live, silentLogger());
  const frameAt = new Map<string, number>();
  const latencies: number[] = [];
  let frames = 0;
  let windowSeconds = o.windowSeconds;
  try {
    await daemon.start();
    const bus = daemon.liveVideo!.bus;
    bus.on('appearance', (e) => {
      if (e.frameReceivedAt !== undefined) frameAt.set(`${e.camera}/events ${e.type} ${e.trackId} ${e.at}`, e.frameReceivedAt);
    });
    bus.on('actors', (a) => {
      if (a.frameReceivedAt !== undefined) frameAt.set(`${a.camera}/actors ${a.at}`, a.frameReceivedAt);
    });
    const client = await connectAsync(daemon.mqttUrl!, { clean: true });
    let measuring = false;
    client.on('message', (topic, payload) => {
      const now = Date.now();
      const m = JSON.parse(payload.toString()) as { type?: string; trackId?: number; at?: string };
      const level = topic.slice(prefix.length + 1);
      const key = level.endsWith('/events') ? `${level} ${m.type} ${m.trackId} ${m.at}` : `${level} ${m.at}`;
      const at = frameAt.get(key);
      frameAt.delete(key);
      if (at !== undefined && measuring) latencies.push(now - at);
    });
    await client.subscribeAsync([`${prefix}/${camera}/events`, `${prefix}/${camera}/actors`], { qos: 1 });
    await sleep(o.warmupSeconds * 1000);
    measuring = true;
    const frameCount = () => daemon.liveVideo!.cameras().reduce((a, c) => a + c.status().framesProcessed, 0);
    const before = frameCount();
    const t0 = performance.now();
    await sleep(o.windowSeconds * 1000);
    // A loaded machine may analyse too few frames in a short window for a track to be announced.
    while (latencies.length < o.minMessages && performance.now() - t0 < (o.windowSeconds + EXTRA_SECONDS) * 1000) await sleep(250);
    windowSeconds = round((performance.now() - t0) / 1000, 1);
    frames = frameCount() - before;
    measuring = false;
    await client.endAsync();
  } finally {
    await daemon.stop();
    await rm(modelDir, { recursive: true, force: true });
  }
  const sorted = latencies.sort((a, b) => a - b);
  const pick = (p: number) => (sorted.length ? round(percentile(sorted, p), 0) : null);
  return {
    n: sorted.length,
    p50Ms: pick(50),
    p95Ms: pick(95),
    maxMs: pick(100),
    framesProcessed: frames,
    windowSeconds,
    fps: o.fps,
    video: o.videos.map((v) => path.basename(v)).join(' + '),
    broker: o.mqttUrl ?? 'embedded',
  };
}

/** Side of the joined clip: the talking heads are 512² and 590²; one size, as one camera would send. */
const JOINED_SIDE = 512;

/**
 * One clip from several, re-encoded to one size in `dir`. A single talking head looping gives a
 * message or two a minute (her track outlives the loop); a cut every few seconds ends her track and
 * starts another, so the window holds enough messages for a p95.
 */
async function joinClips(videos: string[], dir: string): Promise<string> {
  if (videos.length === 1) return videos[0]!;
  const out = path.join(dir, 'joined.mp4');
  const scale = videos.map((_, i) => `[${i}:v]scale=${JOINED_SIDE}:${JOINED_SIDE},setsar=1,fps=25[v${i}]`).join(';');
  const concat = `${videos.map((_, i) => `[v${i}]`).join('')}concat=n=${videos.length}:v=1[out]`;
  try {
    await promisify(execFile)('ffmpeg', [
      '-v',
      'error',
      ...videos.flatMap((v) => ['-i', v]),
      '-filter_complex',
      `${scale};${concat}`,
      '-map',
      '[out]',
      '-an',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-y',
      out,
    ]);
  } catch (err) {
    throw new RecognizerError('VISION_FAILED', `bench --live could not join ${videos.join(', ')}: ${(err as Error).message.split('\n')[0]}`);
  }
  return out;
}

export function formatLive(r: LatencyRun): string {
  const ms = (x: number | null) => (x === null ? '–' : `${x} ms`);
  return [
    `frame-to-MQTT latency (${r.video} looping at ${r.fps} fps, broker ${r.broker}, ${r.windowSeconds} s, ${r.framesProcessed} frames analysed):`,
    `  p50 ${ms(r.p50Ms)}, p95 ${ms(r.p95Ms)}, max ${ms(r.maxMs)} over ${r.n} messages (from the frame's last byte out of ffmpeg to the subscriber)`,
  ].join('\n');
}
