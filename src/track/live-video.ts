// The live side of the daemon: cameras, tracking, the event bus, MQTT (and its broker), metrics.
import { redactUrl, type CameraConfig, type Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { Metrics } from '../api/metrics.js';
import type { ModelSource } from '../recognize/recognizer.js';
import { EmbeddedBroker } from '../publish/embedded-broker.js';
import { EventBus } from '../publish/event-bus.js';
import { MqttPublisher } from '../publish/mqtt-publisher.js';
import type { FaceBackend } from '../vision/types.js';
import { CameraWorker, type FrameObserver } from './camera-worker.js';
import { FrameFeed } from './frame-feed.js';
import { UnknownFaces, unknownSettings } from './unknown-faces.js';
import { FrameAnalyzer } from './frame-analyzer.js';
import { embedderSpec, embedderTuning } from '../vision/embedder.js';

export class LiveVideo {
  readonly bus: EventBus;
  readonly metrics: Metrics;
  private workers: CameraWorker[] = [];
  private broker: EmbeddedBroker | undefined;
  private publisher: MqttPublisher | undefined;
  private modelWatch: NodeJS.Timeout | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  /** Live copies of what a configuration update may change while running (see reconfigure). */
  private live: { track: Config['track']; detect: { minScore: number; maxFaces: number; tileZoom: number }; ingest: Config['ingest']; mqtt: Config['mqtt']; cameras: readonly CameraConfig[] };
  private analyzer: FrameAnalyzer | undefined;
  /** The broker started or found on mqtt.host:mqtt.port, when mqtt.url was unset at start. */
  private localBrokerUrl: string | undefined;
  /** The URL of the broker published to, once started (the embedded one's when mqtt.url is unset). */
  mqttUrl: string | undefined;
  /** Strangers seen recently, grouped (GET /v1/unknowns). */
  readonly unknowns: UnknownFaces;
  /** Each camera's analysed frames, for a client waiting on the next one (the web page's snapshots). */
  readonly frames = new FrameFeed();

  constructor(
    private readonly config: Config,
    private readonly backend: FaceBackend,
    private readonly models: ModelSource,
    private readonly log: Logger,
  ) {
    this.bus = new EventBus(log.child({ component: 'bus' }));
    const groups = embedderTuning(embedderSpec(config.vision.embedder)).unknownGroups;
    this.unknowns = new UnknownFaces(log.child({ component: 'unknowns' }), { ...unknownSettings(config.unknowns), joinCosine: groups.join, mergeCosine: groups.merge });
    this.live = { track: { ...config.track }, detect: { minScore: config.vision.minScore, maxFaces: config.vision.maxFaces, tileZoom: config.vision.tileZoom }, ingest: config.ingest, mqtt: config.mqtt, cameras: config.cameras };
    this.metrics = new Metrics({
      cameras: () => this.workers.map((w) => w.status()),
      mqtt: () => this.publisher?.stats,
      modelVersion: () => models.current()?.version ?? null,
    });
  }

  /** MQTT first, so that the first events are not lost; then every camera. */
  async start(): Promise<void> {
    const { config, log } = this;
    this.mqttUrl = config.mqtt.url;
    if (!this.mqttUrl) {
      const broker = new EmbeddedBroker(config.mqtt.host, config.mqtt.port, { username: config.mqtt.username, password: config.mqtt.password });
      try {
        this.mqttUrl = await broker.start();
        this.broker = broker;
        log.info({ url: this.mqttUrl }, 'embedded MQTT broker listening');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        // A broker (Mosquitto, Greengrass's Moquette) already serves this port: use it rather than fail.
        await broker.stop();
        this.mqttUrl = `mqtt://${config.mqtt.host}:${config.mqtt.port}`;
        log.warn({ url: this.mqttUrl }, 'a broker already listens on mqtt.port: publishing to it instead of an embedded one');
      }
      this.localBrokerUrl = this.mqttUrl;
    }
    this.startPublisher();
    this.watchModel();
    // The detect options and track thresholds are the live copies, read on every frame: updates apply at once.
    this.analyzer = new FrameAnalyzer(this.backend, this.live.detect, this.models, embedderSpec(this.config.vision.embedder), this.metrics.observeStage);
    for (const camera of config.cameras) this.startCamera(camera);
    this.started = true;
  }

  /**
   * Applies a new configuration while running (Greengrass configuration updates): thresholds at once,
   * MQTT reconnected when its settings changed, and only the cameras that were added, removed or
   * changed (all of them when `ingest` changed) restarted. Returns the keys it could not apply.
   */
  async reconfigure(next: Config): Promise<string[]> {
    const { live } = this;
    Object.assign(live.track, next.track);
    Object.assign(live.detect, { minScore: next.vision.minScore, maxFaces: next.vision.maxFaces, tileZoom: next.vision.tileZoom });
    const notApplied: string[] = [];
    if (!sameJson(live.mqtt, next.mqtt)) {
      const url = next.mqtt.url ?? this.localBrokerUrl;
      if (url) {
        await this.publisher?.stop();
        this.mqttUrl = url;
        live.mqtt = next.mqtt;
        this.startPublisher();
      } else notApplied.push('mqtt.url');
    }
    const ingestChanged = !sameJson(live.ingest, next.ingest);
    live.ingest = next.ingest;
    const unchanged = (w: CameraWorker) => !ingestChanged && sameJson(live.cameras.find((c) => c.id === w.id), next.cameras.find((c) => c.id === w.id));
    const stale = this.workers.filter((w) => !unchanged(w));
    this.workers = this.workers.filter(unchanged);
    await Promise.all(stale.map((w) => w.stop()));
    // A camera taken out of the configuration (not one restarted with new settings) goes for good.
    for (const w of stale) if (!next.cameras.some((c) => c.id === w.id)) this.bus.emit('cameraRemoved', { camera: w.id });
    for (const camera of next.cameras) if (!this.workers.some((w) => w.id === camera.id)) this.startCamera(camera);
    live.cameras = next.cameras;
    return notApplied;
  }

  private startPublisher(): void {
    const known = this.workers.map((w) => w.actorsOnScreen());
    this.publisher = new MqttPublisher(this.mqttUrl!, this.live.mqtt, this.bus, this.log.child({ component: 'mqtt' }), this.metrics.observePublish, known);
    this.publisher.start();
  }

  private startCamera(camera: CameraConfig): void {
    const worker = new CameraWorker(camera, { ingest: this.live.ingest, track: this.live.track }, this.analyzer!, this.bus, this.metrics, this.log.child({ camera: camera.id }), this.frameDone);
    this.workers.push(worker);
    worker.start();
  }

  private readonly frameDone: FrameObserver = (frame) => {
    this.frames.frameDone(frame.camera, frame.receivedAt);
    this.unknowns.observeFrame(frame);
  };

  /** The MQTT connection and its counters (the web page's health view); null before start. */
  mqttStatus(): { url: string | null; connected: boolean; published: number; failed: number; dropped: number } | null {
    return this.publisher ? { url: this.mqttUrl ? redactUrl(this.mqttUrl) : null, ...this.publisher.stats } : null;
  }

  cameras(): CameraWorker[] {
    return this.workers;
  }

  /** Readiness: every camera has had its ffmpeg started (a failed camera is reported, not waited for). */
  notReady(): string[] {
    return this.started ? [] : ['the cameras are not started'];
  }

  async metricsText(): Promise<{ text: string; contentType: string }> {
    return { text: await this.metrics.registry.metrics(), contentType: this.metrics.registry.contentType };
  }

  /** Cameras first (no ffmpeg left behind), then the retained `offline`, then the broker. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.modelWatch);
      await Promise.all(this.workers.map((w) => w.stop()));
      await this.publisher?.stop();
      await this.broker?.stop();
    })();
    return this.stopping;
  }

  /** Publishes the running model on P/model whenever its version changes (hot swaps included). */
  private watchModel(): void {
    let version: string | null | undefined;
    const check = () => {
      const model = this.models.current();
      if ((model?.version ?? null) === version) return;
      version = model?.version ?? null;
      this.bus.emit('model', { version, actors: model ? [...model.actors] : [], loadedAt: model?.loadedAt.toISOString() ?? null, source: this.models.currentSource?.() ?? null });
    };
    check();
    this.modelWatch = setInterval(check, 2000);
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
