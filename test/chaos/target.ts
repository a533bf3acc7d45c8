// The daemon under chaos: its own process on loopback, two cameras (a looped file, RTSP with a password), an outside broker.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { EmbeddedBroker } from '../../src/publish/embedded-broker.js';
import { spawnDaemon } from '../helpers/cli.js';
import { alive, freePort, syntheticVideo, until } from '../helpers/ingest.js';
import { TestRtspServer } from '../helpers/rtsp-server.js';

/** Secrets the run hands out, which must never show in a log line or an ffmpeg command line. */
export const SECRETS = { apiKey: 'chaos-key-7f3a9c1e', cameraPassword: 'CamPass-51d2e8', brokerPassword: 'Broker-9a7c33' };

export class Target {
  port = 0;
  brokerPort = 0;
  storeDir = '';
  topicPrefix = `chaos-${process.pid}`;
  daemon: ChildProcessByStdio<null, Readable, Readable> | undefined;
  lines: string[] = [];
  broker: EmbeddedBroker | undefined;
  private rtsp: TestRtspServer | undefined;
  /** Every ffmpeg the daemon was seen to run, to check that none outlives it. */
  readonly ffmpegSeen = new Set<number>();
  /** Whether the daemon exited before it was asked to (a crash). */
  crashed: number | null | undefined;
  private stopping = false;

  async start(): Promise<void> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-chaos-'));
    this.storeDir = path.join(dir, 'models');
    const video = await syntheticVideo(640, 360, 4);
    const rtspPort = await freePort();
    this.rtsp = new TestRtspServer(video, rtspPort);
    await this.rtsp.start();
    this.brokerPort = await freePort();
    await this.startBroker();
    const config = {
      api: {
        host: '127.0.0.1',
        port: 0,
        apiKey: SECRETS.apiKey,
        headersTimeoutSeconds: 2,
        requestTimeoutSeconds: 5,
        keepAliveTimeoutSeconds: 2,
        maxConcurrentImages: 2,
        maxQueuedImages: 6,
      },
      log: { level: 'info' },
      model: { dir: this.storeDir },
      mqtt: { url: `mqtt://127.0.0.1:${this.brokerPort}`, username: 'chaos', password: SECRETS.brokerPassword, topicPrefix: this.topicPrefix },
      ingest: { stallSeconds: 5, backoffInitialMs: 200, backoffMaxMs: 2000, failedRetrySeconds: 5 },
      cameras: [
        { id: 'file', url: video, fps: 5, maxWidth: 640, loop: true },
        { id: 'rtsp', url: `rtsp://viewer:${SECRETS.cameraPassword}@127.0.0.1:${rtspPort}/live`, fps: 5, maxWidth: 640 },
      ],
    };
    const file = path.join(dir, 'config.json');
    await writeFile(file, JSON.stringify(config), { mode: 0o600 });
    const { child, url, lines } = await spawnDaemon({ ACTOR_RECOGNIZER_CONFIG: file, ACTOR_RECOGNIZER_API_PORT: '0' });
    this.daemon = child;
    this.lines = lines;
    this.port = Number(new URL(url).port);
    child.once('exit', (code) => {
      if (!this.stopping) this.crashed = code;
    });
  }

  async startBroker(): Promise<void> {
    this.broker = new EmbeddedBroker('127.0.0.1', this.brokerPort, { username: 'chaos', password: SECRETS.brokerPassword });
    await this.broker.start();
  }

  async stopBroker(): Promise<void> {
    await this.broker?.stop();
    this.broker = undefined;
  }

  get pid(): number {
    return this.daemon!.pid!;
  }

  /** The daemon's ffmpeg children now (and remembered). */
  ffmpegPids(): number[] {
    let pids: number[] = [];
    try {
      pids = execFileSync('pgrep', ['-P', String(this.pid), 'ffmpeg'])
        .toString()
        .trim()
        .split('\n')
        .filter(Boolean)
        .map(Number);
    } catch {
      pids = [];
    }
    pids.forEach((p) => this.ffmpegSeen.add(p));
    return pids;
  }

  /** Resident memory now and at its peak (VmHWM), in MiB, and open descriptors. */
  memory(): { rssMiB: number; peakMiB: number; fds: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    return { rssMiB: Math.round(kib('VmRSS') / 1024), peakMiB: Math.round(kib('VmHWM') / 1024), fds: readdirSync(`/proc/${this.pid}/fd`).length };
  }

  /** Command lines of the daemon's ffmpeg children, for the secret check. */
  ffmpegCommandLines(): string[] {
    return this.ffmpegPids().map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      } catch {
        return '';
      }
    });
  }

  /** SIGTERM, then the exit code; every process the run started is stopped by its PID. */
  async stop(): Promise<{ exitCode: number | null; orphans: number }> {
    this.stopping = true;
    let exitCode: number | null = null;
    const daemon = this.daemon;
    if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
      this.ffmpegPids();
      const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
      process.kill(daemon.pid!, 'SIGTERM');
      const timer = setTimeout(() => daemon.pid && alive(daemon.pid) && process.kill(daemon.pid, 'SIGKILL'), 15_000);
      exitCode = await exited;
      clearTimeout(timer);
    } else if (daemon) {
      exitCode = daemon.exitCode;
    }
    await until(() => ![...this.ffmpegSeen].some(alive), 3000);
    const orphans = [...this.ffmpegSeen].filter(alive);
    for (const pid of orphans) process.kill(pid, 'SIGKILL');
    await this.rtsp?.stop();
    await this.stopBroker();
    return { exitCode, orphans: orphans.length };
  }
}
