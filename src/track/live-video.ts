// The live side of the daemon: the cameras, each one's frames analysed and tracked, the faces of strangers.
import { sameValue } from '../config/greengrass-config.js';
import type { CameraConfig, Config } from '../config/schema.js';
import type { ActorsOnScreen, EventBus } from '../events/event-bus.js';
import type { Logger } from '../logger.js';
import type { ModelSource } from '../recognize/recognizer.js';
import { detectOptions } from '../vision/create-backend.js';
import type { DetectOptions, FaceBackend } from '../vision/types.js';
import { CameraWorker, type FrameObserver, type WorkerMetrics } from './camera-worker.js';
import { FrameFeed } from './frame-feed.js';
import { UnknownFaces, unknownSettings } from './unknown-faces.js';
import { FrameAnalyzer, type StageTimer } from './frame-analyzer.js';
import { embedderSpec, embedderTuning } from '../vision/embedder.js';

/** What the cameras report to the metrics (src/metrics/metrics.ts implements it). */
export type LiveMetrics = WorkerMetrics & { observeStage: StageTimer };

export class LiveVideo {
  private workers: CameraWorker[] = [];
  private started = false;
  private stopping: Promise<void> | undefined;
  /** Live copies of what a configuration update may change while running (see reconfigure). */
  private live: {
    track: Config['track'];
    ingest: Config['ingest'];
    cameras: readonly CameraConfig[];
  };
  private analyzer: FrameAnalyzer | undefined;
  /** The detection settings, as a configuration update last set them. */
  private detect: DetectOptions;
  /** Strangers seen recently, grouped (GET /v1/unknowns). */
  readonly unknowns: UnknownFaces;
  /** Each camera's analysed frames, for a client waiting on the next one (the web page's snapshots). */
  readonly frames = new FrameFeed();

  constructor(
    private readonly config: Config,
    private readonly backend: FaceBackend,
    private readonly models: ModelSource,
    /** Where the cameras' appearances, actors and states go (MQTT, SSE, Greengrass listen there). */
    readonly bus: EventBus,
    private readonly metrics: LiveMetrics,
    private readonly log: Logger,
  ) {
    const groups = embedderTuning(embedderSpec(config.vision.embedder)).unknownGroups;
    this.unknowns = new UnknownFaces(log.child({ component: 'unknowns' }), {
      ...unknownSettings(config.unknowns),
      joinCosine: groups.join,
      mergeCosine: groups.merge,
    });
    this.detect = detectOptions(config.vision);
    this.live = {
      track: { ...config.track },
      ingest: config.ingest,
      cameras: config.cameras,
    };
  }

  /** Every camera; the MQTT output starts before, so that the first events are not lost. */
  start(): void {
    // The track thresholds are a live copy read on every frame, and reconfigure hands the analyzer new detect options: updates apply at once.
    this.analyzer = new FrameAnalyzer(this.backend, this.detect, this.models, embedderSpec(this.config.vision.embedder), this.metrics.observeStage);
    for (const camera of this.config.cameras) this.startCamera(camera);
    this.started = true;
  }

  /**
   * Applies a new configuration while running (Greengrass configuration updates): thresholds at once,
   * and only the cameras that were added, removed or changed (all of them when `ingest` changed)
   * restarted. `keys`: the changed live keys, as classifyChanges (config/greengrass-config.ts) decided.
   */
  async reconfigure(next: Config, keys: readonly string[]): Promise<void> {
    const { live } = this;
    Object.assign(live.track, next.track);
    this.detect = detectOptions(next.vision);
    this.analyzer?.setDetectOptions(this.detect);
    const ingestChanged = keys.some((k) => k.startsWith('ingest.'));
    live.ingest = next.ingest;
    const unchanged = (w: CameraWorker) =>
      !ingestChanged &&
      sameValue(
        live.cameras.find((c) => c.id === w.id),
        next.cameras.find((c) => c.id === w.id),
      );
    const stale = this.workers.filter((w) => !unchanged(w));
    this.workers = this.workers.filter(unchanged);
    await Promise.all(stale.map((w) => w.stop()));
    // A camera taken out of the configuration (not one restarted with new settings) goes for good.
    for (const w of stale) if (!next.cameras.some((c) => c.id === w.id)) this.bus.emit('cameraRemoved', { camera: w.id });
    for (const camera of next.cameras) if (!this.workers.some((w) => w.id === camera.id)) this.startCamera(camera);
    live.cameras = next.cameras;
  }

  /** What every camera last said is on screen: a new MQTT publisher's retained state. */
  actorsOnScreen(): ActorsOnScreen[] {
    return this.workers.map((w) => w.actorsOnScreen());
  }

  private startCamera(camera: CameraConfig): void {
    const worker = new CameraWorker(
      camera,
      { ingest: this.live.ingest, track: this.live.track },
      this.analyzer!,
      this.bus,
      this.metrics,
      this.log.child({ camera: camera.id }),
      this.frameDone,
    );
    this.workers.push(worker);
    worker.start();
  }

  private readonly frameDone: FrameObserver = (frame) => {
    this.frames.frameDone(frame.camera, frame.receivedAt);
    this.unknowns.observeFrame(frame);
  };

  cameras(): CameraWorker[] {
    return this.workers;
  }

  /** Readiness: every camera has had its ffmpeg started (a failed camera is reported, not waited for). */
  notReady(): string[] {
    return this.started ? [] : ['the cameras are not started'];
  }

  /** Stops every camera (no ffmpeg left behind). Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= Promise.all(this.workers.map((w) => w.stop())).then(() => undefined);
    return this.stopping;
  }
}
