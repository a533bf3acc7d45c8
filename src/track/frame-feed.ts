// Counts each camera's analysed frames, so a client can wait for the next one instead of polling.
import { EventEmitter } from 'node:events';

/** Recent frame-to-result latency of one camera. */
export interface FrameStats {
  /** Frames analysed since the daemon started. */
  frame: number;
  /** Mean and worst of the last few frames, ms from a frame leaving ffmpeg to its faces tracked. */
  latencyMs: { mean: number; max: number } | null;
}

const RECENT = 30;

export class FrameFeed {
  private readonly emitter = new EventEmitter();
  private readonly counts = new Map<string, number>();
  private readonly latencies = new Map<string, number[]>();

  constructor() {
    // One waiter per open page and camera.
    this.emitter.setMaxListeners(0);
  }

  /** A frame of `camera` was analysed; `receivedAt` is when it left ffmpeg (Date.now()). */
  frameDone(camera: string, receivedAt: number, now = Date.now()): void {
    const count = (this.counts.get(camera) ?? 0) + 1;
    this.counts.set(camera, count);
    const recent = this.latencies.get(camera) ?? [];
    recent.push(now - receivedAt);
    if (recent.length > RECENT) recent.shift();
    this.latencies.set(camera, recent);
    this.emitter.emit(camera, count);
  }

  stats(camera: string): FrameStats {
    const recent = this.latencies.get(camera) ?? [];
    const latencyMs = recent.length ? { mean: Math.round(recent.reduce((a, b) => a + b, 0) / recent.length), max: Math.max(...recent) } : null;
    return { frame: this.counts.get(camera) ?? 0, latencyMs };
  }

  /**
   * Resolves with the frame number once `camera` has analysed a frame after `after`, or with the
   * current number after `timeoutMs` or when `signal` aborts (the client went away). A client ahead
   * of the count (it followed a daemon that has since restarted) gets the current frame at once.
   */
  next(camera: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    const now = this.counts.get(camera) ?? 0;
    if (now !== after || signal?.aborted) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.emitter.off(camera, onFrame);
        signal?.removeEventListener('abort', done);
        resolve(this.counts.get(camera) ?? 0);
      };
      const onFrame = () => done();
      const timer = setTimeout(done, timeoutMs);
      this.emitter.on(camera, onFrame);
      signal?.addEventListener('abort', done);
    });
  }
}
