// Which frames of a video get the detector with its tiles, the detector alone, or neither (their tracks carried on).
import type { FrameChange } from './shot-detector.js';

/**
 * What to do with one frame:
 * - `full`: detect on the whole frame and on its tiles (the second look for small faces, vision.tileZoom);
 * - `whole`: detect on the whole frame only (a face only the tiles found lives on in its track);
 * - `carry`: no detection: the tracks of the last detection stand for this frame too.
 */
export type FramePlan = 'full' | 'whole' | 'carry';

/** The track.* settings that schedule detection (their defaults are the schema's, src/config/schema.ts). */
export interface DetectScheduleOptions {
  /** Detect at most this long apart within a shot (seconds of stream time); 0: every frame. */
  detectSeconds: number;
  /** Take the tiles at most this long apart within a shot (seconds); 0: every frame. A shot's first frame always has them. */
  tileSeconds: number;
  /** Detect at once when the frame has changed this much (mean thumbnail difference, 0–255) since the last detection; 0: never early. */
  detectOnChange: number;
}

/** What the schedule needs to know of a frame. */
export interface ScheduledFrame {
  /** Stream time in seconds (scan: position in the video; live: arrival). */
  time: number;
  /** The frame starts a new shot (ShotDetector). */
  cut: boolean;
  /** The change from the previous frame; undefined for the first frame of a stream (or of another size). */
  change: FrameChange | undefined;
  /**
   * Whether the caller can afford the tiles on frames other than a shot's first (a live camera that
   * keeps up with its stream); true when absent.
   */
  tilesAffordable?: boolean;
}

/**
 * Decides frame by frame, in order, how much detection each frame gets. A shot's first frame gets
 * everything; within a shot, the frame nearest to each period's end (the periods in stream time, so
 * that a camera at 2 frames a second and a scan at 5 detect as often) and one that has changed much.
 */
export class DetectSchedule {
  /** Times of the last detection, of the last tiles and of the previous frame; undefined before the first frame. */
  private lastDetect: number | undefined;
  private lastTiles = 0;
  private previous = 0;
  /** Change summed over the frames since the last detection. */
  private drift = 0;

  /** `options` is read on every frame: a live configuration update applies at once. */
  constructor(private readonly options: DetectScheduleOptions) {}

  next(frame: ScheduledFrame): FramePlan {
    const { time } = frame;
    const step = Math.max(0, time - this.previous);
    this.previous = time;
    if (frame.cut || frame.change === undefined || this.lastDetect === undefined) return this.detected('full', time);
    this.drift += frame.change.pixels;
    const o = this.options;
    // Due on the frame nearest to the period's end: half a frame early rather than most of one late.
    const due = (since: number, period: number) => time - since + step / 2 >= period;
    if (due(this.lastTiles, o.tileSeconds) && frame.tilesAffordable !== false) return this.detected('full', time);
    if (due(this.lastDetect, o.detectSeconds) || (o.detectOnChange > 0 && this.drift >= o.detectOnChange)) return this.detected('whole', time);
    return 'carry';
  }

  /** Forgets the stream: the next frame is detected in full (a restarted camera). */
  reset(): void {
    this.lastDetect = undefined;
  }

  private detected(plan: 'full' | 'whole', time: number): FramePlan {
    this.lastDetect = time;
    this.drift = 0;
    if (plan === 'full') this.lastTiles = time;
    return plan;
  }
}

/**
 * A live camera's second look, one pass a frame: the frame the schedule gives the look to takes its
 * first strip (with the whole frame, as always), and the frames right after it the others, whatever
 * the schedule says of them. All at once, a 16:9 frame's look (the whole frame and three strips) held
 * its faces' events back for the lot: frame to MQTT p95 210–246 ms, and 115–129 ms one strip a frame
 * (`bench --live`, one camera at 5 fps, the Avengers scene looped; a square talking head 78–92 ms).
 * `scan` takes the look all at once: it has no one waiting on a frame, and a shot of one frame keeps
 * its small faces.
 */
export class SecondLookSweep {
  private next = 0;
  private passes = 0;

  /**
   * A look begins (the schedule's `full` frame) with this many passes at the frame's size (0: it takes
   * none). A camera's frames change size only when ffmpeg restarts, and its first frame then begins one.
   */
  start(passes: number): void {
    this.next = 0;
    this.passes = passes;
  }

  /** The pass of the look this frame takes, or undefined once all are taken. */
  step(): number | undefined {
    return this.next < this.passes ? this.next++ : undefined;
  }
}
