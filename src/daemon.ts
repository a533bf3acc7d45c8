// The composition root: starts the components in order and stops them in reverse.
import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/app.js';
import type { Config } from './config/schema.js';
import type { Logger } from './logger.js';
import { ModelHolder } from './recognize/model-holder.js';
import { Recognizer } from './recognize/recognizer.js';
import { createFacePipeline } from './vision/create-backend.js';
import type { FacePipeline } from './vision/pipeline.js';
import { packageVersion } from './version.js';

export class Daemon {
  private readonly config: Config;
  private readonly log: Logger;
  private pipeline: FacePipeline | undefined;
  private models: ModelHolder | undefined;
  private app: FastifyInstance | undefined;
  private stopping: Promise<void> | undefined;

  constructor(config: Config, log: Logger) {
    this.config = config;
    this.log = log;
  }

  /** The address the API listens on, once started. */
  address(): { host: string; port: number } | undefined {
    const addr = this.app?.server.address();
    return addr && typeof addr === 'object' ? { host: addr.address, port: addr.port } : undefined;
  }

  async start(): Promise<void> {
    const { config, log } = this;
    this.warnNotYetUsed();
    this.pipeline = await createFacePipeline(config.vision);
    log.info({ backend: this.pipeline.backend.name, detector: config.vision.detector }, 'face pipeline ready');
    this.models = new ModelHolder(log.child({ component: 'model' }), { threads: config.vision.threads });
    await this.models.loadFrom(config.model.dir);
    const recognizer = new Recognizer(this.pipeline, this.models, { maxPixels: config.vision.maxPixels });
    const models = this.models;
    this.app = await buildApp(
      {
        recognizer,
        models,
        notReady: () => (models.current() ? [] : ['no actor model is loaded']),
      },
      { apiKey: config.api.apiKey, bodyLimitBytes: config.api.bodyLimitBytes, logger: log.child({ component: 'api' }), version: packageVersion() },
    );
    await this.app.listen({ host: config.api.host, port: config.api.port });
    const address = this.address();
    log.info({ url: `http://${address?.host}:${address?.port}` }, 'REST API listening');
  }

  /** Keys the schema already has for the coming live-video and hot-swap work, not used yet. */
  private warnNotYetUsed(): void {
    const { cameras, mqtt, model } = this.config;
    const pending = [cameras.length > 0 && 'cameras', mqtt.url && 'mqtt.url', model.s3 && 'model.s3'].filter(Boolean);
    if (pending.length) this.log.warn({ keys: pending }, 'these settings are checked but not used yet by this version');
  }

  /** Stops everything started, in reverse order. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.app?.close();
      await this.models?.stop();
      await this.pipeline?.backend.stop();
    })();
    return this.stopping;
  }
}
