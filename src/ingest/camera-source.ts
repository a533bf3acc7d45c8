// A supervised camera: keeps one ffmpeg running, restarts it with backoff, hands on the newest frame.
import { redactUrl } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { FfmpegProcess, type Frame } from './ffmpeg-process.js';
import { sourceKind, type SourceSpec } from './ffmpeg-args.js';

/** How ffmpeg is supervised (the `ingest` config section). */
export interface SupervisionOptions {
  ffmpegPath: string;
  /** No frame for this long: the stream is stalled and ffmpeg is restarted. */
  stallSeconds: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** More restarts than this within `restartWindowSeconds`: the camera is marked failed. */
  maxRestarts: number;
  restartWindowSeconds: number;
}

export type CameraState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

/** Counters a camera keeps; metrics and the REST API read them. */
export interface CameraCounters {
  framesIn: number;
  framesDropped: number;
  restarts: number;
}

export interface CameraEvents {
  onState?(state: CameraState, reason?: string): void;
  onRestart?(): void;
}

export class CameraSource {
  state: CameraState = 'starting';
  readonly counters: CameraCounters = { framesIn: 0, framesDropped: 0, restarts: 0 };
  lastFrameAt: number | undefined;
  size: { width: number; height: number } | undefined;
  private process: FfmpegProcess | undefined;
  private slot: Frame | undefined;
  private waiter: ((frame: Frame | null) => void) | undefined;
  private restartTimes: number[] = [];
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private spawnedAt = 0;
  private restartPending = false;

  constructor(
    readonly id: string,
    private readonly spec: SourceSpec,
    private readonly options: SupervisionOptions,
    private readonly log: Logger,
    private readonly events: CameraEvents = {},
  ) {}

  start(): void {
    this.spawn();
    this.stallTimer = setInterval(() => this.checkStall(), 1000);
  }

  /**
   * The newest frame not yet taken, waiting for one if there is none; null once stopped. Frames that
   * arrived while the caller was busy were dropped and counted: live results beat complete ones.
   */
  next(): Promise<Frame | null> {
    if (this.stopped) return Promise.resolve(null);
    const frame = this.slot;
    if (frame) {
      this.slot = undefined;
      return Promise.resolve(frame);
    }
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** For tests and operators: the running ffmpeg's process id. */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.stallTimer);
    this.waiter?.(null);
    this.waiter = undefined;
    await this.process?.stop();
    this.setState('stopped');
  }

  private spawn(): void {
    const run = new FfmpegProcess(this.options.ffmpegPath, this.spec, (frame) => this.onFrame(frame));
    this.process = run;
    const started = (this.spawnedAt = Date.now());
    this.lastFrameAt = undefined;
    void run.exited.then((exit) => {
      if (this.stopped || this.process !== run) return;
      // ffmpeg's stderr repeats the URL it opened; credentials must not reach the log.
      this.log.warn({ code: exit.code, signal: exit.signal, stderr: redactUrl(exit.stderr) }, 'ffmpeg exited');
      // A run that delivered frames for a while was healthy: the next failure starts the backoff over.
      if (this.lastFrameAt !== undefined && Date.now() - started > 10_000) this.failures = 0;
      // A file that is not looped has simply been watched to its end: nothing to restart.
      if (exit.code === 0 && sourceKind(this.spec.url) === 'file' && !this.spec.loop) return this.setState('stopped', 'the file ended');
      this.scheduleRestart(exit.code === 0 ? 'stream ended' : `ffmpeg exited (${exit.signal ?? exit.code})`);
    });
  }

  private scheduleRestart(reason: string): void {
    const now = Date.now();
    const window = this.options.restartWindowSeconds * 1000;
    this.restartTimes = this.restartTimes.filter((t) => now - t < window);
    if (this.restartTimes.length >= this.options.maxRestarts) {
      this.log.error({ restarts: this.restartTimes.length, windowSeconds: this.options.restartWindowSeconds }, 'too many ffmpeg restarts: camera failed');
      this.setState('failed', `${this.restartTimes.length} restarts in ${this.options.restartWindowSeconds} s (${reason})`);
      return;
    }
    const delay = Math.min(this.options.backoffMaxMs, this.options.backoffInitialMs * 2 ** this.failures);
    this.failures++;
    this.restartTimes.push(now);
    this.setState('restarting', reason);
    this.log.info({ delayMs: delay, reason }, 'restarting ffmpeg');
    this.restartPending = true;
    this.timer = setTimeout(() => {
      this.restartPending = false;
      if (this.stopped) return;
      this.counters.restarts++;
      this.events.onRestart?.();
      this.spawn();
    }, delay);
  }

  private checkStall(): void {
    const run = this.process;
    // Between an exit and the restart there is no process to watch.
    if (!run || this.stopped || this.state === 'failed' || this.restartPending) return;
    const since = this.lastFrameAt ?? this.spawnedAt;
    if (Date.now() - since > this.options.stallSeconds * 1000) {
      this.log.warn({ stallSeconds: this.options.stallSeconds }, 'no frame: stream stalled, killing ffmpeg');
      run.kill('SIGKILL');
    }
  }

  private onFrame(frame: Frame): void {
    if (this.stopped) return;
    this.counters.framesIn++;
    this.lastFrameAt = frame.receivedAt;
    this.size = { width: frame.image.width, height: frame.image.height };
    if (this.state !== 'running') this.setState('running');
    if (this.waiter) {
      const resolve = this.waiter;
      this.waiter = undefined;
      resolve(frame);
      return;
    }
    if (this.slot) this.counters.framesDropped++;
    this.slot = frame;
  }

  private setState(state: CameraState, reason?: string): void {
    if (this.state === state) return;
    this.state = state;
    this.events.onState?.(state, reason);
  }
}
