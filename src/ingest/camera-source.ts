// A supervised camera: keeps one ffmpeg running, restarts it with backoff, hands on the newest frame.
import { redactUrl } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { FfmpegProcess, type Frame } from './ffmpeg-process.js';
import { ffmpegReason, sourceKind, type SourceSpec } from './ffmpeg-args.js';

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
  /** A failed camera is still tried this often, for ever: a TV box switched back on comes back by itself. */
  failedRetrySeconds: number;
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
  /** Every frame read from ffmpeg, analysed or dropped (the camera's input rate). */
  onFrame?(receivedAt: number): void;
}

export class CameraSource {
  state: CameraState = 'starting';
  reason: string | undefined;
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

  /**
   * Restarts ffmpeg now, with the backoff and the failure count reset (POST /v1/cameras/:id/restart):
   * the user who has just switched the capture box on need not wait for the next slow retry.
   */
  restart(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.restartPending = false;
    this.failures = 0;
    this.restartTimes = [];
    const old = this.process;
    // Unset first, so that the old run's exit is not taken for a failure of the new one.
    this.process = undefined;
    void old?.stop();
    this.counters.restarts++;
    this.events.onRestart?.();
    this.log.info('ffmpeg restarted on request');
    this.setState('starting', 'restarted on request');
    this.spawn();
  }

  private spawn(): void {
    const run = new FfmpegProcess(this.options.ffmpegPath, this.spec, (frame) => this.onFrame(frame));
    this.process = run;
    const started = (this.spawnedAt = Date.now());
    this.lastFrameAt = undefined;
    void run.exited.then((exit) => {
      if (this.stopped || this.process !== run) return;
      // ffmpeg's stderr repeats the URL it opened; credentials must not reach the log.
      this.log.warn(
        { code: exit.code, signal: exit.signal, runSeconds: Math.round((Date.now() - started) / 100) / 10, stderr: redactUrl(exit.stderr) },
        'ffmpeg exited',
      );
      // A file that is not looped has simply been watched to its end: nothing to restart.
      if (exit.code === 0 && sourceKind(this.spec.url) === 'file' && !this.spec.loop) return this.setState('stopped', 'the file ended');
      const why = exit.code === 0 ? 'stream ended' : `ffmpeg exited (${exit.signal ?? exit.code})`;
      // ffmpeg's own words ("Connection refused", "401 Unauthorized") say more than its exit code.
      const said = ffmpegReason(exit.stderr);
      this.scheduleRestart(said ? `${why}: ${redactUrl(said)}` : why);
    });
  }

  /**
   * Restarts with exponential backoff; after too many restarts in the window the camera is `failed`,
   * and is still tried every `failedRetrySeconds`, for ever (never given up: a camera switched off for
   * the night must come back in the morning without a restart of the daemon).
   */
  private scheduleRestart(reason: string): void {
    const now = Date.now();
    const window = this.options.restartWindowSeconds * 1000;
    this.restartTimes = this.restartTimes.filter((t) => now - t < window);
    let delay: number;
    if (this.restartTimes.length >= this.options.maxRestarts) {
      if (this.state !== 'failed')
        this.log.error(
          { restarts: this.restartTimes.length, windowSeconds: this.options.restartWindowSeconds, retrySeconds: this.options.failedRetrySeconds },
          'too many ffmpeg restarts: camera failed, trying again slowly',
        );
      delay = this.options.failedRetrySeconds * 1000;
      this.setState(
        'failed',
        `${reason}; ${this.restartTimes.length} restarts in ${this.options.restartWindowSeconds} s, trying again every ${this.options.failedRetrySeconds} s`,
      );
    } else {
      delay = Math.min(this.options.backoffMaxMs, this.options.backoffInitialMs * 2 ** this.failures);
      this.failures++;
      this.setState('restarting', reason);
    }
    this.restartTimes.push(now);
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
    // Between an exit and the restart there is no process to watch; a failed camera's slow retries
    // are watched like any run, so that a hung attempt cannot end the retrying.
    if (!run || this.stopped || this.restartPending) return;
    const since = this.lastFrameAt ?? this.spawnedAt;
    if (Date.now() - since > this.options.stallSeconds * 1000) {
      this.log.warn({ stallSeconds: this.options.stallSeconds }, 'no frame: stream stalled, killing ffmpeg');
      run.kill('SIGKILL');
    }
  }

  private onFrame(frame: Frame): void {
    if (this.stopped) return;
    this.counters.framesIn++;
    this.events.onFrame?.(frame.receivedAt);
    this.lastFrameAt = frame.receivedAt;
    this.size = { width: frame.image.width, height: frame.image.height };
    if (this.state !== 'running') {
      // Frames again: a healthy run. The next failure starts the backoff over, and a camera that was
      // failed gets its quick restarts back (the old rule, ten seconds of frames, never reset a
      // stream that dies every few seconds).
      this.failures = 0;
      this.restartTimes = [];
      this.setState('running');
    }
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
    if (this.state === state && this.reason === reason) return;
    this.state = state;
    this.reason = reason;
    this.events.onState?.(state, reason);
  }
}
