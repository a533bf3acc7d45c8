// The composition root: starts the components in order and stops them in reverse.
import type { FastifyInstance } from 'fastify';
import { Admission } from './api/admission.js';
import { buildApp } from './api/app.js';
import { registerEnrollRoutes } from './api/enroll-routes.js';
import { registerLiveRoutes } from './api/live-routes.js';
import { registerStatusRoutes } from './api/status-routes.js';
import type { Config } from './config/schema.js';
import type { Logger } from './logger.js';
import { ModelService } from './models/model-service.js';
import { usableStarter } from './models/starter.js';
import { liveTarget, type GreengrassComponent } from './publish/greengrass-component.js';
import { Enroller } from './recognize/enroll.js';
import { PendingFaces } from './recognize/pending-faces.js';
import { Recognizer } from './recognize/recognizer.js';
import { AppearanceLog } from './track/appearance-log.js';
import { LiveVideo } from './track/live-video.js';
import { createFacePipeline } from './vision/create-backend.js';
import { embedderSpec } from './vision/embedder.js';
import type { FacePipeline } from './vision/pipeline.js';
import { packageVersion } from './version.js';

export class Daemon {
  private readonly config: Config;
  private readonly log: Logger;
  private pipeline: FacePipeline | undefined;
  private models: ModelService | undefined;
  private app: FastifyInstance | undefined;
  private live: LiveVideo | undefined;
  private appearances: AppearanceLog | undefined;
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

  async start(): Promise<void> {
    const { config, log } = this;
    this.pipeline = await createFacePipeline(config.vision);
    log.info({ backend: this.pipeline.backend.name, detector: config.vision.detector }, 'face pipeline ready');
    this.models = new ModelService(config.model, { threads: config.vision.threads, embedder: embedderSpec(config.vision.embedder), log: log.child({ component: 'model' }), starter: await usableStarter(config) });
    await this.models.start();
    const models = this.models.store;
    const recognizer = new Recognizer(this.pipeline, models, { maxPixels: config.vision.maxPixels, maxSide: config.vision.decodeMaxSide });
    const live = (this.live = new LiveVideo(config, this.pipeline.backend, models, log.child({ component: 'live' })));
    const notReady = () => [...(models.current() ? [] : ['no actor model is loaded']), ...live.notReady()];
    const admission = new Admission(config.api.maxConcurrentImages, config.api.maxQueuedImages);
    this.app = await buildApp(
      {
        recognizer,
        models,
        notReady,
        modelControl: this.models,
      },
      { apiKey: config.api.apiKey, bodyLimitBytes: config.api.bodyLimitBytes, jsonBodyLimitBytes: config.api.jsonBodyLimitBytes, allowedHosts: config.api.allowedHosts, limits: config.api, admission, logger: log.child({ component: 'api' }), version: packageVersion() },
    );
    registerLiveRoutes(this.app, { cameras: () => live.cameras(), bus: live.bus, metrics: () => live.metricsText() });
    // The web page's routes: enrollment on the device, unknown faces, health, the hour's appearances.
    const appearances = (this.appearances = new AppearanceLog(live.bus));
    appearances.start();
    const enroller = new Enroller(models, log.child({ component: 'enroll' }));
    registerEnrollRoutes(this.app, { recognizer, pending: new PendingFaces(), enroller, unknowns: live.unknowns, cameras: () => live.cameras(), maxPixels: config.vision.maxPixels, maxSide: config.vision.decodeMaxSide, unknownWindowSeconds: config.unknowns.keepSeconds, admission });
    registerStatusRoutes(this.app, { cameras: () => live.cameras(), frames: live.frames, appearances, mqtt: () => live.mqttStatus(), model: () => models.current(), notReady });
    await this.app.listen({ host: config.api.host, port: config.api.port });
    this.greengrass?.start({ bus: live.bus, busy: [{ name: 'a model swap', signal: models }], target: liveTarget(live, this.models) });
    await live.start();
    const address = this.address();
    log.info({ url: `http://${address?.host}:${address?.port}` }, 'REST API listening');
    // Last: RUNNING is reported once everything serves, and live updates find every part started.
    await this.greengrass?.ready();
  }

  /** The live side (cameras, MQTT), for tests and the Greengrass entry point. */
  get liveVideo(): LiveVideo | undefined {
    return this.live;
  }

  /** The model store, for the Greengrass component's reload entry point (`models.reload(dir)`). */
  get modelService(): ModelService | undefined {
    return this.models;
  }

  /** Stops everything started, in reverse order. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // Greengrass first, so that no configuration update restarts what is being stopped.
      await this.greengrass?.stop();
      // Cameras and MQTT first: their ffmpeg children must not outlive us, and `offline` goes out last.
      await this.live?.stop();
      this.appearances?.stop();
      await this.app?.close();
      await this.models?.stop();
      await this.pipeline?.backend.stop();
    })();
    return this.stopping;
  }
}
