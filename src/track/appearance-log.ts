// The appearances of the last hour, from the bus's events: what the web page draws as a timeline.
import type { AppearanceEvent, EventBus } from '../events/event-bus.js';

/** One appearance: a track from `appeared` to `left` (end null while on screen). */
export interface Appearance {
  camera: string;
  trackId: number;
  actor: string | null;
  confidence: number;
  start: string;
  end: string | null;
}

export interface AppearanceLogOptions {
  windowMs: number;
  max: number;
}

export class AppearanceLog {
  private readonly bus: Pick<EventBus, 'on'>;
  private readonly options: AppearanceLogOptions;
  /** Keyed by camera and track, in order of appearance. */
  private readonly entries = new Map<string, Appearance>();
  private off: (() => void) | undefined;

  constructor(bus: Pick<EventBus, 'on'>, options: AppearanceLogOptions = { windowMs: 3_600_000, max: 2000 }) {
    this.bus = bus;
    this.options = options;
  }

  start(): void {
    this.off ??= this.bus.on('appearance', (e) => this.record(e));
  }

  stop(): void {
    this.off?.();
    this.off = undefined;
  }

  /** Appearances on screen within the window, oldest first. */
  list(now = Date.now()): Appearance[] {
    this.prune(now);
    return [...this.entries.values()].map((a) => ({ ...a }));
  }

  record(e: AppearanceEvent): void {
    const key = `${e.camera}#${e.trackId}`;
    const entry = this.entries.get(key) ?? { camera: e.camera, trackId: e.trackId, actor: null, confidence: 0, start: e.at, end: null };
    entry.actor = e.actor;
    entry.confidence = e.type === 'left' ? (e.bestConfidence ?? e.confidence) : e.confidence;
    if (e.type === 'left') entry.end = e.at;
    this.entries.set(key, entry);
    this.prune(Date.parse(e.at) || Date.now());
  }

  private prune(now: number): void {
    const limit = now - this.options.windowMs;
    for (const [key, a] of this.entries) {
      if (this.entries.size > this.options.max || (a.end !== null && Date.parse(a.end) < limit)) this.entries.delete(key);
    }
  }
}
