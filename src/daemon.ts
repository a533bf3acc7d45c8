// The composition root: builds and wires every component, starts them in order and stops them in reverse.
import type { FastifyInstance } from 'fastify';
import { Admission } from './api/admission.js';
import { buildApp } from './api/app.js';
import { redactUrl, type Config } from './config/schema.js';
import { EventBus } from './events/event-bus.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics/metrics.js';
import { Enroller } from './models/enroll.js';
import { ModelService } from './models/model-service.js';
import { usableStarter } from './models/starter.js';
import { startLocalBroker } from './publish/embedded-broker.js';
import type { GreengrassComponent } from './publish/greengrass-component.js';
import { MqttPublisher } from './publish/mqtt-publisher.js';
import { PendingFaces } from './recognize/pending-faces.js';
import { Recognizer } from './recognize/recognizer.js';
import { AppearanceLog } from './track/appearance-log.js';
import { LiveVideo } from './track/live-video.js';
import { createFacePipeline, detectOptions } from './vision/create-backend.js';
import type { FacePipeline } from './vision/pipeline.js';
import { embedderSpec } from './vision/embedder.js';
import { packageVersion } from './version.js';

/** Undoes one step of start(). */
type Undo = () => Promise<unknown> | void;

export class Daemon {
  private readonly config: Config;
  private readonly log: Logger;
  private app: FastifyInstance | undefined;
  private live: LiveVideo | undefined;
  /** The photos' pipeline (/v1/recognize, enrolment); its detection settings follow live updates. */
  private pipeline: FacePipeline | undefined;
  private bus: EventBus | undefined;
  private metrics: Metrics | undefined;
  private publisher: MqttPublisher | undefined;
  /** The URL of the broker published to, once started (the embedded one's when mqtt.url is unset). */
  private brokerUrl: string | undefined;
  /** The broker started or found on mqtt.host:mqtt.port, when mqtt.url was unset at start. */
  private localBrokerUrl: string | undefined;
  /** What start() did, in order; stop() undoes it from the last. */
  private readonly undo: Undo[] = [];
  private stopping: Promise<void> | undefined;
  /** Present only when running as a Greengrass component (main.ts opens it); outside, nothing of it runs. */
  private readonly greengrass: GreengrassComponent | undefined;

  constructor(config: Config, log: Logger, options: { greengrass?: GreengrassComponent } = {}) {
    this.config = config;
    this.log = log;
    this.greengrass = options.greengrass;
  }

  /** The address the API listens on, once started. */
  address(): { host: string; port: number } | undefined {
    const addr = this.app?.server.address();
    return addr && typeof addr === 'object' ? { host: addr.address, port: addr.port } : undefined;
  }

  /** The URL of the MQTT broker published to, once started. */
  get mqttUrl(): string | undefined {
    return this.brokerUrl;
  }

  /** The live side (cameras, their bus, unknown faces), for tests. */
  get liveVideo(): LiveVideo | undefined {
    return this.live;
  }

  async start(): Promise<void> {
    const { config, log, undo } = this;
    const pipeline = (this.pipeline = await createFacePipeline(config.vision));
    undo.push(() => pipeline.backend.stop());
    log.info({ backend: pipeline.backend.name, detector: config.vision.detector }, 'face pipeline ready');
    const bus = (this.bus = new EventBus(log.child({ component: 'bus' })));
    const models = new ModelService(config.model, {
      threads: config.vision.threads,
      embedder: embedderSpec(config.vision.embedder),
      log: log.child({ component: 'model' }),
      starter: await usableStarter(config),
    });
    await models.start();
    undo.push(() => models.stop());
    const store = models.store;
    const metrics: Metrics = (this.metrics = new Metrics({
      cameras: () => live.cameras().map((w) => w.status()),
      mqtt: () => this.publisher?.stats,
      modelVersion: () => store.current()?.version ?? null,
    }));
    const live: LiveVideo = (this.live = new LiveVideo(config, pipeline.backend, store, bus, metrics, log.child({ component: 'live' })));

    // The API, with the web page's routes: enrollment on the device, unknown faces, health, the hour's appearances.
    const recognizer = new Recognizer(pipeline, store, { maxPixels: config.vision.maxPixels, maxSide: config.vision.decodeMaxSide });
    const notReady = () => [...(store.current() ? [] : ['no actor model is loaded']), ...live.notReady()];
    const appearances = new AppearanceLog(bus);
    appearances.start();
    undo.push(() => appearances.stop());
    const enroller = new Enroller(store, log.child({ component: 'enroll' }));
    const cameras = () => live.cameras();
    const app = (this.app = await buildApp(
      {
        recognizer,
        models: store,
        notReady,
        modelControl: models,
        live: { cameras, bus, metrics: async () => ({ text: await metrics.registry.metrics(), contentType: metrics.registry.contentType }) },
        enroll: {
          recognizer,
          pending: new PendingFaces(),
          enroller,
          unknowns: live.unknowns,
          cameras,
          maxPixels: config.vision.maxPixels,
          maxSide: config.vision.decodeMaxSide,
          unknownWindowSeconds: config.unknowns.keepSeconds,
        },
        status: { cameras, frames: live.frames, appearances, mqtt: () => this.mqttStatus(), model: () => store.current(), notReady },
      },
      {
        apiKey: config.api.apiKey,
        bodyLimitBytes: config.api.bodyLimitBytes,
        jsonBodyLimitBytes: config.api.jsonBodyLimitBytes,
        allowedHosts: config.api.allowedHosts,
        limits: config.api,
        admission: new Admission(config.api.maxConcurrentImages, config.api.maxQueuedImages),
        logger: log.child({ component: 'api' }),
        version: packageVersion(),
      },
    ));
    undo.push(() => app.close());
    await app.listen({ host: config.api.host, port: config.api.port });

    // The outputs subscribe before anything is emitted: MQTT (the retained `offline` goes out after the cameras stop), Greengrass.
    this.brokerUrl = config.mqtt.url ?? (this.localBrokerUrl = await this.startLocalBroker());
    this.startPublisher(config.mqtt);
    undo.push(() => this.publisher?.stop());
    this.greengrass?.start({ bus, busy: [{ name: 'a model swap', signal: store }], target: { apply: (next, keys) => this.applyLive(next, keys, models) } });
    // The one path of model changes: the store's swaps and refusals reach every output through the bus.
    undo.push(models.connect(bus));
    live.start();
    undo.push(() => live.stop());
    const address = this.address();
    log.info({ url: `http://${address?.host}:${address?.port}` }, 'REST API listening');
    // Last: RUNNING is reported once everything serves, and live updates find every part started.
    await this.greengrass?.ready();
  }

  /** Stops everything started, in reverse order. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // Greengrass first, so that no configuration update restarts what is being stopped.
      await this.greengrass?.stop();
      // Then the cameras (their ffmpeg children must not outlive us), MQTT's `offline`, the broker, the API, the models.
      for (let step = this.undo.pop(); step; step = this.undo.pop()) await step();
    })();
    return this.stopping;
  }

  /** The embedded broker on mqtt.host:mqtt.port, or the one already listening there; its URL. */
  private async startLocalBroker(): Promise<string> {
    const { url, broker } = await startLocalBroker(this.config.mqtt, this.log);
    if (broker) this.undo.push(() => broker.stop());
    return url;
  }

  /** A publisher to the broker at brokerUrl; one it replaces hands over the running model. */
  private startPublisher(settings: Config['mqtt']): void {
    const known = { actors: this.live?.actorsOnScreen() ?? [], model: this.publisher?.lastModel };
    this.publisher = new MqttPublisher(this.brokerUrl!, settings, this.bus!, this.log.child({ component: 'mqtt' }), this.metrics!.observePublish, known);
    this.publisher.start();
  }

  /**
   * Applies the live keys of a configuration update (Greengrass), as classifyChanges listed them:
   * MQTT reconnected when its settings changed, thresholds and cameras, the model's sources.
   * Returns the keys it could not apply.
   */
  private async applyLive(next: Config, keys: readonly string[], models: ModelService): Promise<string[]> {
    const notApplied: string[] = [];
    if (keys.some((k) => k.startsWith('mqtt.'))) {
      const url = next.mqtt.url ?? this.localBrokerUrl;
      if (url) {
        await this.publisher?.stop();
        this.brokerUrl = url;
        this.startPublisher(next.mqtt);
      } else notApplied.push('mqtt.url');
    }
    await this.live?.reconfigure(next, keys);
    if (keys.some((k) => k.startsWith('vision.'))) this.pipeline?.setDetectOptions(detectOptions(next.vision));
    if (keys.some((k) => k.startsWith('model.s3'))) await models.setS3(next.model.s3);
    // The new folder's bundle is verified and swapped in through the running store, like a deployment's artifact.
    if (keys.includes('model.dir') && !(await models.reload(next.model.dir)).ok) notApplied.push('model.dir');
    return notApplied;
  }

  /** The MQTT connection and its counters (the web page's health view); null before start. */
  private mqttStatus(): { url: string | null; connected: boolean; published: number; failed: number; dropped: number } | null {
    return this.publisher ? { url: this.brokerUrl ? redactUrl(this.brokerUrl) : null, ...this.publisher.stats } : null;
  }
}
