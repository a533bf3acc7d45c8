// Greengrass output: the bus's events to AWS IoT Core and local publish/subscribe, through a bounded queue.
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { EventBus } from '../events/event-bus.js';
import { BoundedQueue } from './bounded-queue.js';
import { onMessages } from './messages.js';

/** The slice of the IPC connection (greengrass-ipc.ts) that publishing needs. */
export interface GreengrassSink {
  publishToIoTCore(topic: string, payload: string, qos: 0 | 1): Promise<void>;
  publishToTopic(topic: string, message: unknown): Promise<void>;
}

/** Counters for the metrics and the tests. */
export interface GreengrassPublisherStats {
  published: number;
  failed: number;
  /** Messages dropped because the queue was full: the pipeline never waits for the nucleus. */
  dropped: number;
  queued: number;
}

interface Outgoing {
  to: 'iotCore' | 'local';
  topic: string;
  message: Record<string, unknown>;
}

type Settings = Config['greengrass'];

export class GreengrassPublisher {
  readonly stats: GreengrassPublisherStats = { published: 0, failed: 0, dropped: 0, queued: 0 };
  private readonly queue = new BoundedQueue<Outgoing>(() => this.settings.queueSize);
  private draining: Promise<void> | undefined;
  private unsubscribe: (() => void)[] = [];
  private stopped = false;
  private failuresLogged = 0;

  constructor(
    private readonly sink: GreengrassSink,
    private settings: Settings,
    private readonly thingName: string | undefined,
    private readonly bus: Pick<EventBus, 'on'>,
    private readonly log: Logger,
  ) {}

  start(): void {
    // The same topics and payloads as MQTT (src/publish/messages.ts), under Greengrass's own prefixes.
    this.unsubscribe = onMessages(this.bus, (message) => this.publish(message.levels, message.payload));
  }

  /** New topics, QoS or queue size (a configuration update); messages already queued keep their topics. */
  setSettings(settings: Settings): void {
    this.settings = settings;
  }

  /** Publishes one message on both sides as configured; a report of the component's own (config changes). */
  publish(levels: string[], message: Record<string, unknown>): void {
    if (this.stopped) return;
    const s = this.settings;
    if (s.publishToIoTCore) this.enqueue({ to: 'iotCore', topic: [this.iotCorePrefix(), ...levels].join('/'), message });
    if (s.publishToLocal) this.enqueue({ to: 'local', topic: [s.localTopicPrefix, ...levels].join('/'), message });
  }

  /** Stops listening; what is queued (a last status) gets 2 s to reach the nucleus. Safe to call twice. */
  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flushed(), new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    this.stopped = true;
    this.queue.takeAll();
    this.stats.queued = 0;
  }

  private async flushed(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private iotCorePrefix(): string {
    return this.settings.iotCoreTopicPrefix.replaceAll('{thingName}', this.thingName ?? 'unknown-thing');
  }

  private enqueue(item: Outgoing): void {
    this.stats.dropped += this.queue.push(item);
    this.stats.queued = this.queue.length;
    this.kick();
  }

  private kick(): void {
    if (this.draining || this.stopped) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      // Something may have been queued between the loop's last look and here.
      if (this.queue.length > 0) this.kick();
    });
  }

  /** One message at a time: the nucleus answers each in about a millisecond on its local socket. */
  private async drain(): Promise<void> {
    for (let item = this.queue.shift(); item && !this.stopped; item = this.queue.shift()) {
      this.stats.queued = this.queue.length;
      try {
        if (item.to === 'iotCore') await this.sink.publishToIoTCore(item.topic, JSON.stringify(item.message), this.settings.qos === 1 ? 1 : 0);
        else await this.sink.publishToTopic(item.topic, item.message);
        this.stats.published++;
      } catch (err) {
        this.stats.failed++;
        // An unauthorized topic fails every message alike: say it a few times, then count quietly.
        if (this.failuresLogged++ < 5) this.log.warn({ err, topic: item.topic }, 'Greengrass publish failed');
      }
    }
  }
}
