// One camera's loop: newest frame → faces → tracks → events on the bus; keeps its latest state.
import { redactUrl, type CameraConfig, type Config } from '../config/schema.js';
import { CameraSource, type CameraState, type SupervisionOptions } from '../ingest/camera-source.js';
import type { Frame } from '../ingest/ffmpeg-process.js';
import type { Logger } from '../logger.js';
import type { ActorsOnScreen, EventBus } from '../events/event-bus.js';
import type { Box, RgbImage } from '../vision/types.js';
import { DetectSchedule, SecondLookSweep } from './detect-schedule.js';
import type { AnalyzedFace, FrameAnalyzer } from './frame-analyzer.js';
import { ShotDetector } from './shot-detector.js';
import { Tracker, type TrackEvent, type TrackModel } from './tracker.js';

/** A face of the latest processed frame, as the REST API shows it. */
export interface LiveFace {
  box: Box;
  actor: string | null;
  confidence: number;
  trackId: number | null;
}

/** A camera as GET /v1/cameras reports it. */
export interface CameraStatus {
  id: string;
  url: string;
  state: CameraState;
  reason: string | null;
  width: number | null;
  height: number | null;
  fpsConfigured: number;
  fpsIn: number;
  fpsProcessed: number;
  framesIn: number;
  framesProcessed: number;
  framesDropped: number;
  restarts: number;
  lastFrameAt: string | null;
  actors: string[];
  faces: LiveFace[];
}

/** Per-frame facts the worker reports (Prometheus in the daemon). */
export interface WorkerMetrics {
  frameProcessed(camera: string, secondsSinceArrival: number): void;
  ffmpegRestart(camera: string): void;
}

/** Told of every analysed frame: its faces with embeddings and their tracks (unknown faces, the web page). */
export type FrameObserver = (frame: { camera: string; image: RgbImage; receivedAt: number; faces: AnalyzedFace[]; live: LiveFace[] }) => void;

/** Frames per second over the last few seconds. */
class Rate {
  private times: number[] = [];
  mark(now = Date.now()): void {
    this.times.push(now);
    if (this.times.length > 200) this.times.shift();
  }
  perSecond(now = Date.now()): number {
    this.times = this.times.filter((t) => now - t <= 5000);
    return Math.round((this.times.length / 5) * 10) / 10;
  }
}

export class CameraWorker {
  readonly source: CameraSource;
  private readonly tracker: Tracker;
  private readonly shots = new ShotDetector();
  /** Which frames get the detector, with or without tiles (track.detectSeconds, tileSeconds, detectOnChange). */
  private readonly schedule: DetectSchedule;
  /** Which pass of the second look the next frames take. */
  private readonly sweep = new SecondLookSweep();
  /** How long the last frame's analysis took: whether the camera keeps up with its tiles. */
  private lastAnalysisMs = 0;
  private readonly rateIn = new Rate();
  private readonly rateProcessed = new Rate();
  private framesProcessed = 0;
  private reason: string | null = null;
  private latest: { image: RgbImage; faces: LiveFace[] } | undefined;
  private actors: string[] = [];
  /** Who is on screen, as last published (P/<camera>/actors). */
  private onScreen: ActorsOnScreen;
  /**
   * The latest score of each track's face, as GET /v1/cameras shows it: an unknown track's events
   * carry this number too, so that MQTT and REST agree (the tracker keeps a confidence for names only).
   */
  private readonly scores = new Map<number, number>();
  private loop: Promise<void> | undefined;
  private expiry: NodeJS.Timeout | undefined;
  /** A frame is being analysed: its faces, not the clock, say who is still there. */
  private analysing = false;
  /** The arrival time of the last analysed frame, and when its analysis ended (epoch ms). */
  private analysed: { frameAt: number; doneAt: number } | undefined;

  constructor(
    private readonly camera: CameraConfig,
    config: { ingest: SupervisionOptions; track: Config['track'] },
    private readonly analyzer: FrameAnalyzer,
    private readonly bus: EventBus,
    private readonly metrics: WorkerMetrics,
    private readonly log: Logger,
    private readonly onFrame?: FrameObserver,
  ) {
    this.tracker = new Tracker({ ...config.track, link: analyzer.tuning?.link });
    // The live copy of track.*: a configuration update reaches the schedule at once.
    this.schedule = new DetectSchedule(config.track);
    this.onScreen = { camera: camera.id, actors: [], at: new Date().toISOString(), confidences: {}, since: {}, unknown: 0 };
    this.source = new CameraSource(
      camera.id,
      { url: camera.url, fps: camera.fps, maxWidth: camera.maxWidth, loop: camera.loop, realtime: true },
      config.ingest,
      log,
      {
        onState: (state, reason) => {
          this.reason = reason ?? null;
          this.bus.emit('cameraState', { camera: camera.id, state, reason });
        },
        onRestart: () => this.metrics.ffmpegRestart(camera.id),
        onFrame: (receivedAt) => this.rateIn.mark(receivedAt),
      },
    );
  }

  get id(): string {
    return this.camera.id;
  }

  start(): void {
    // Nobody on screen yet, said at once: a Home Assistant sensor starts defined, not unknown.
    this.onScreen = { ...this.onScreen, at: new Date().toISOString() };
    this.bus.emit('actors', this.onScreen);
    this.source.start();
    this.loop = this.run();
    // Without frames (a dead camera) tracks must still end, so expiry also runs on the clock.
    this.expiry = setInterval(() => this.expireOnClock(), 500);
  }

  async stop(): Promise<void> {
    clearInterval(this.expiry);
    await this.source.stop();
    await this.loop;
  }

  /** Who is on screen now, as last published (a new MQTT publisher starts from it). */
  actorsOnScreen(): ActorsOnScreen {
    return this.onScreen;
  }

  /** Restarts ffmpeg now, backoff reset (POST /v1/cameras/:id/restart). */
  restart(): void {
    this.source.restart();
  }

  /** The latest processed frame and its faces, for the snapshot. */
  snapshot(): { image: RgbImage; faces: LiveFace[] } | undefined {
    return this.latest;
  }

  status(): CameraStatus {
    const c = this.source.counters;
    return {
      id: this.camera.id,
      url: redactUrl(this.camera.url),
      state: this.source.state,
      reason: this.reason,
      width: this.source.size?.width ?? null,
      height: this.source.size?.height ?? null,
      fpsConfigured: this.camera.fps,
      fpsIn: this.rateIn.perSecond(),
      fpsProcessed: this.rateProcessed.perSecond(),
      framesIn: c.framesIn,
      framesProcessed: this.framesProcessed,
      framesDropped: c.framesDropped,
      restarts: c.restarts,
      lastFrameAt: this.source.lastFrameAt ? new Date(this.source.lastFrameAt).toISOString() : null,
      actors: this.actors,
      faces: this.latest?.faces ?? [],
    };
  }

  private async run(): Promise<void> {
    for (;;) {
      const frame = await this.source.next();
      if (!frame) return;
      try {
        await this.process(frame);
      } catch (err) {
        // One bad frame (or a model swapped mid-frame) must not end the camera.
        this.log.error({ err }, 'could not analyse a frame');
      }
    }
  }

  /**
   * Ends tracks when frames stop coming. Track time is the arrival time of the frames analysed, so
   * the clock may only move it on by the time the worker has waited idle since its last analysis:
   * on a machine that takes longer than `absentSeconds` to analyse a frame, the wall clock would end
   * every track between two frames that both show the face (seen on the web page as "nobody" while
   * the snapshot showed her, and as a new appearance every frame).
   */
  private expireOnClock(): void {
    if (this.analysing) return;
    const now = Date.now();
    const time = this.analysed ? this.analysed.frameAt + (now - this.analysed.doneAt) : now;
    this.publish(this.tracker.expire(time / 1000), undefined);
  }

  private async process(frame: Frame): Promise<void> {
    // A restarted ffmpeg may show anything: its first frame gets the full look, and it is a cut when it
    // differs from the last frame before the restart as any cut does (or comes at another size), so that
    // the tracks of another picture end while those of a network blip over the same scene go on.
    if (frame.index === 0) this.schedule.reset();
    // Live tracks run on the wall clock (stream time: arrival), so that restarts of ffmpeg do not rewind time.
    const time = frame.receivedAt / 1000;
    const { cut, change, shot, resumes } = this.shots.observe(frame.image, time);
    // The second look for small faces (vision.tileZoom) costs a detector pass per tile: it is taken on
    // the first frame of every shot, and on the frames the schedule gives it only while the camera
    // keeps up (the last frame was analysed within the frame interval). A machine too slow for tiles
    // on every frame takes them on every other one, and a Pi on cuts, instead of falling behind.
    const plan = this.schedule.next({ time, cut, change, tilesAffordable: this.lastAnalysisMs <= 1000 / this.camera.fps });
    // One pass of the look a frame, on consecutive frames: no frame's events wait for all of it.
    if (plan === 'full') this.sweep.start(this.analyzer.secondLookPasses(frame.image));
    const part = this.sweep.step();
    if (plan === 'carry' && part === undefined) return this.carry(frame);
    this.analysing = true;
    const started = Date.now();
    let faces: AnalyzedFace[];
    let model: TrackModel | null;
    try {
      // The faces of the last detection are followed into this frame.
      const look = part === undefined ? { tiles: false } : { tiles: true, tilePart: part };
      ({ faces, model } = await this.analyzer.analyze(frame.image, { ...look, follow: this.tracker.followed(cut), known: this.tracker.settled(time, cut) }));
    } finally {
      this.analysing = false;
    }
    this.lastAnalysisMs = Date.now() - started;
    this.analysed = { frameAt: frame.receivedAt, doneAt: Date.now() };
    const events = this.tracker.update(faces, time, { cut, model, shot, resumes });
    // A followed face its track did not take is not a face of this frame: it turned or left its box,
    // or its track took a detection instead (a face that moved), which is the face shown.
    const tracks = this.tracker.seenSince(time);
    const detected = new Set(tracks.filter((t) => faces.some((f) => f.follows === undefined && f.box === t.box)).map((t) => t.id));
    const seen = new Set(tracks.map((t) => t.id));
    faces = faces.filter((f) => f.follows === undefined || (seen.has(f.follows) && !detected.has(f.follows)));
    this.latest = { image: frame.image, faces: this.liveFaces(faces) };
    this.framesProcessed++;
    this.rateProcessed.mark();
    this.publish(events, frame.receivedAt);
    this.metrics.frameProcessed(this.camera.id, (Date.now() - frame.receivedAt) / 1000);
    // `live` is `faces` in the same order, with the track's id and voted name.
    this.onFrame?.({ camera: this.camera.id, image: frame.image, receivedAt: frame.receivedAt, faces, live: this.latest.faces });
  }

  /**
   * A frame the schedule skips: its tracks are the last detection's, so nothing is published (and no
   * frame-to-result latency is observed); the snapshot shows the new picture with the last faces, and
   * the frame counts as processed (handled in time, not dropped).
   */
  private carry(frame: Frame): void {
    this.latest = { image: frame.image, faces: this.latest?.faces ?? [] };
    this.framesProcessed++;
    this.rateProcessed.mark();
  }

  private liveFaces(faces: AnalyzedFace[]): LiveFace[] {
    const tracks = this.tracker.active();
    return faces.map((f) => {
      const track = tracks.find((t) => (f.follows === undefined ? t.box === f.box : t.id === f.follows));
      const r = (v: number) => Math.round(v * 10) / 10;
      // A known face (TrackInput.known) has no score of its own: its track's stands.
      const confidence = Math.round((f.known === undefined ? f.confidence : (track?.confidence ?? 0)) * 1000) / 1000;
      if (track && f.known === undefined) this.scores.set(track.id, confidence);
      return {
        box: { x: r(f.box.x), y: r(f.box.y), width: r(f.box.width), height: r(f.box.height) },
        actor: track?.actor ?? f.actor,
        confidence,
        trackId: track?.id ?? null,
      };
    });
  }

  private publish(events: TrackEvent[], frameReceivedAt: number | undefined): void {
    const at = new Date().toISOString();
    for (const e of events) {
      const score = e.actor === null ? this.scores.get(e.trackId) : undefined;
      if (e.type === 'left') this.scores.delete(e.trackId);
      this.bus.emit('appearance', {
        type: e.type,
        camera: this.camera.id,
        trackId: e.trackId,
        actor: e.actor,
        confidence: score ?? Math.round(e.confidence * 1000) / 1000,
        at,
        ...(e.durationSeconds !== undefined
          ? { durationSeconds: Math.round(e.durationSeconds * 10) / 10, bestConfidence: Math.round((e.bestConfidence ?? 0) * 1000) / 1000 }
          : {}),
        ...(e.type === 'identified' && e.previous !== undefined ? { previous: e.previous } : {}),
        frameReceivedAt,
      });
    }
    const actors = this.tracker.actors();
    const tracks = this.tracker.active();
    const unknown = tracks.filter((t) => t.actor === null).length;
    // Sent when the names or the number of strangers change, not on every frame's new confidence.
    if (actors.join('\n') === this.actors.join('\n') && unknown === this.onScreen.unknown) return;
    this.actors = actors;
    const confidences: Record<string, number> = {};
    const since: Record<string, string> = {};
    for (const t of tracks) {
      if (t.actor === null) continue;
      confidences[t.actor] = Math.max(confidences[t.actor] ?? 0, Math.round(t.confidence * 1000) / 1000);
      const start = new Date(t.firstSeen * 1000).toISOString();
      if (!since[t.actor] || start < since[t.actor]!) since[t.actor] = start;
    }
    this.onScreen = { camera: this.camera.id, actors, at, confidences, since, unknown };
    this.bus.emit('actors', { ...this.onScreen, frameReceivedAt });
  }
}
