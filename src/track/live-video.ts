// The live side of the daemon: cameras, tracking, the event bus, MQTT (and its broker), metrics.
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { Metrics } from '../api/metrics.js';
import type { ModelSource } from '../recognize/recognizer.js';
import { EmbeddedBroker } from '../publish/embedded-broker.js';
import { EventBus } from '../publish/event-bus.js';
import { MqttPublisher } from '../publish/mqtt-publisher.js';
import type { FaceBackend } from '../vision/types.js';
import { CameraWorker } from './camera-worker.js';
import { FrameAnalyzer } from './frame-analyzer.js';

export class LiveVideo {
  readonly bus: EventBus;
  readonly metrics: Metrics;
  private workers: CameraWorker[] = [];
  private broker: EmbeddedBroker | undefined;
  private publisher: MqttPublisher | undefined;
  private modelWatch: NodeJS.Timeout | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  /** The URL of the broker published to, once started (the embedded one's when mqtt.url is unset). */
  mqttUrl: string | undefined;

  constructor(
    private readonly config: Config,
    private readonly backend: FaceBackend,
    private readonly models: ModelSource,
    private readonly log: Logger,
  ) {
    this.bus = new EventBus(log.child({ component: 'bus' }));
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
      const broker = new EmbeddedBroker(config.mqtt.host, config.mqtt.port);
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
    }
    this.publisher = new MqttPublisher(this.mqttUrl, config.mqtt, this.bus, log.child({ component: 'mqtt' }), this.metrics.observePublish);
    this.publisher.start();
    this.watchModel();
    const analyzer = new FrameAnalyzer(this.backend, { minScore: config.vision.minScore, maxFaces: config.vision.maxFaces }, this.models, this.metrics.observeStage);
    for (const camera of config.cameras) {
      const worker = new CameraWorker(camera, config, analyzer, this.bus, this.metrics, log.child({ camera: camera.id }));
      this.workers.push(worker);
      worker.start();
    }
    this.started = true;
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
      this.bus.emit('model', { version, actors: model ? [...model.actors] : [], loadedAt: model?.loadedAt.toISOString() ?? null });
    };
    check();
    this.modelWatch = setInterval(check, 2000);
  }
}
