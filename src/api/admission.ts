// Backpressure for image requests: a few run, a bounded number wait, the rest are told to come back.
import { RecognizerError } from '../errors.js';

/** A request refused because the queue is full: 503 with Retry-After (src/api/errors.ts). */
export class BusyError extends RecognizerError {
  constructor(
    readonly retryAfterSeconds: number,
    waiting: number,
  ) {
    super('BUSY', `busy: ${waiting} images are waiting for the face pipeline; try again in ${retryAfterSeconds} s`);
  }
}

/**
 * Admits image work (decode and inference) `maxActive` at a time with at most `maxWaiting` queued.
 * Without a bound, 30 concurrent requests all queued on the one inference worker (p95 19 s) and the
 * cameras waited behind them (issue 16); a full queue now refuses at once, before the body is decoded.
 */
export class Admission {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** Recent durations (ms), for the Retry-After estimate. */
  private readonly recent: number[] = [];

  constructor(
    private readonly maxActive: number,
    private readonly maxWaiting: number,
  ) {}

  /** Runs `work` when a slot is free; throws {@link BusyError} at once when the queue is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxActive) {
      if (this.waiting.length >= this.maxWaiting) throw new BusyError(this.retryAfter(), this.waiting.length);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    const start = Date.now();
    try {
      return await work();
    } finally {
      this.recent.push(Date.now() - start);
      if (this.recent.length > 20) this.recent.shift();
      // The slot passes straight to the next in line, so `active` never drops below the queue's need.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }

  /** Image requests running and waiting (GET /v1/status, metrics). */
  get load(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  /** Seconds until the queue has likely drained: the mean recent duration times the work ahead. */
  private retryAfter(): number {
    const mean = this.recent.length ? this.recent.reduce((a, b) => a + b, 0) / this.recent.length : 1000;
    return Math.max(1, Math.min(60, Math.ceil((mean * (this.waiting.length + this.active)) / this.maxActive / 1000)));
  }
}
