// MQTT output: availability with a last will, per-camera events and actors, the model; never blocks.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { redactUrl, type Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { packageVersion } from '../version.js';
import type { ActorsOnScreen, EventBus, EventBusMap, ModelChanged } from '../events/event-bus.js';
import { BoundedQueue } from './bounded-queue.js';
import { HomeAssistantDiscovery } from './home-assistant.js';
import { messageOf, onMessages, type Message, type PublishedEvent } from './messages.js';

/** Counters for the metrics and the tests. */
export interface PublisherStats {
  published: number;
  failed: number;
  dropped: number;
  connected: boolean;
}

/** Hook for frame-to-publish latency (seconds), called when the broker has the message. */
export type PublishLatency = (seconds: number) => void;

interface Outgoing {
  topic: string;
  payload: string;
  frameReceivedAt?: number;
}

export class MqttPublisher {
  readonly stats: PublisherStats = { published: 0, failed: 0, dropped: 0, connected: false };
  private client: MqttClient | undefined;
  private readonly buffer = new BoundedQueue<Outgoing>(() => this.config.bufferSize);
  /** Every running camera, by what it last said is on screen: its retained state, and its discovery config. */
  private readonly actors = new Map<string, ActorsOnScreen>();
  /** Every camera's last state payload (`P/<camera>/state`: running, restarting, failed, and ffmpeg's reason), retained. */
  private readonly states = new Map<string, string>();
  /** Cameras taken out of the configuration whose retained topics still have to be emptied. */
  private readonly gone = new Set<string>();
  private readonly discovery: HomeAssistantDiscovery | undefined;
  private model: ModelChanged | undefined;
  private unsubscribe: (() => void)[] = [];
  private retryMs = 1000;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly config: Config['mqtt'],
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly onLatency: PublishLatency = () => undefined,
    /** The cameras running already and the running model, when a new publisher replaces one (a configuration update). */
    known: { actors?: readonly ActorsOnScreen[]; model?: ModelChanged } = {},
  ) {
    for (const a of known.actors ?? []) this.actors.set(a.camera, a);
    this.model = known.model;
    this.discovery = config.homeAssistant
      ? new HomeAssistantDiscovery({ discoveryPrefix: config.discoveryPrefix, topicPrefix: config.topicPrefix, version: packageVersion() })
      : undefined;
  }

  private topic(...levels: string[]): string {
    return [this.config.topicPrefix, ...levels].join('/');
  }

  start(): void {
    const { config } = this;
    const options: IClientOptions = {
      protocolVersion: config.protocolVersion === 5 ? 5 : 4,
      clientId: config.clientId ?? `actor-recognizer-${randomBytes(4).toString('hex')}`,
      username: config.username,
      password: config.password,
      rejectUnauthorized: config.rejectUnauthorized,
      ca: config.caFile ? readFileSync(config.caFile) : undefined,
      cert: config.certFile ? readFileSync(config.certFile) : undefined,
      key: config.keyFile ? readFileSync(config.keyFile) : undefined,
      will: { topic: this.topic('status'), payload: Buffer.from('offline'), retain: true, qos: 1 },
      // mqtt.js retries at a fixed period; we back off exponentially ourselves (see scheduleReconnect).
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      // Our own bounded buffer holds messages while offline; mqtt.js's queue has no bound.
      queueQoSZero: false,
    };
    const client = connect(this.url, options);
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('close', () => {
      if (this.stats.connected && !this.stopped) this.log.warn({ url: redactUrl(this.url) }, 'MQTT connection lost');
      this.stats.connected = false;
      this.scheduleReconnect();
    });
    // Errors are followed by close, where reconnection happens; log them once per connection. Message
    // and code only: the stack repeats the message, which may hold the broker URL's password.
    client.on('error', (err) => this.log.warn({ err: { message: redactUrl(err.message), code: (err as NodeJS.ErrnoException).code } }, 'MQTT error'));
    client.on('message', (topic, payload) => this.onMessage(topic, payload.toString()));
    this.unsubscribe = [
      ...onMessages(this.bus, (message, name, payload) => this.publishMessage(message, name, payload)),
      this.bus.on('cameraRemoved', ({ camera }) => {
        this.actors.delete(camera);
        this.states.delete(camera);
        this.gone.add(camera);
        if (this.client?.connected) this.clearGone();
      }),
    ];
  }

  /** The running model as last published, for a publisher that replaces this one. */
  get lastModel(): ModelChanged | undefined {
    return this.model;
  }

  /** Keeps what is republished on every connect (retained state), then sends; events are buffered while away. */
  private publishMessage<K extends PublishedEvent>(message: Message, name: K, payload: EventBusMap[K]): void {
    const topic = this.topic(...message.levels);
    const text = JSON.stringify(message.payload);
    if (name === 'actors') {
      const a = payload as ActorsOnScreen;
      const isNew = !this.actors.has(a.camera);
      this.actors.set(a.camera, a);
      this.gone.delete(a.camera);
      // A new camera's sensor is announced before its first state, so Home Assistant has both.
      if (isNew && this.discovery) this.send(this.discovery.configTopic(a.camera), JSON.stringify(this.discovery.sensor(a.camera)), undefined, false, true);
    } else if (name === 'cameraState') this.states.set(message.levels[0]!, text);
    else if (name === 'model') this.model = payload as ModelChanged;
    this.send(topic, text, message.frameReceivedAt, !message.retain, message.retain);
  }

  /** Publishes the retained `offline`, then disconnects. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    for (const off of this.unsubscribe) off();
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      await bounded(client.publishAsync(this.topic('status'), 'offline', { qos: 1, retain: true }), 2000);
    }
    // endAsync never settles on a client that is not connected; force the end instead of waiting.
    await bounded(client.connected ? client.endAsync() : Promise.resolve(), 2000);
    client.end(true);
  }

  private onConnect(): void {
    this.log.info({ url: redactUrl(this.url), protocolVersion: this.config.protocolVersion }, 'MQTT connected');
    this.stats.connected = true;
    this.retryMs = 1000;
    // A restarted broker may have lost retained messages: state is published afresh on every connect.
    this.write({ topic: this.topic('status'), payload: 'online' }, true);
    if (this.model) this.write({ topic: this.topic('model'), payload: JSON.stringify(messageOf('model', this.model).payload) }, true);
    if (this.discovery) {
      // Our retained configs tell which cameras went while we were away; Home Assistant's birth
      // message asks for discovery again.
      this.client!.subscribe([this.discovery.configFilter, this.discovery.birthTopic], { qos: 1 }, (err) => {
        if (err) this.log.warn({ err }, 'could not subscribe to the Home Assistant discovery topics');
      });
    }
    this.announce();
    this.clearGone();
    for (const item of this.buffer.takeAll()) this.write(item, false);
  }

  /** Every camera's discovery config (with Home Assistant on) and state, retained. */
  private announce(): void {
    for (const a of this.actors.values()) {
      if (this.discovery) this.write({ topic: this.discovery.configTopic(a.camera), payload: JSON.stringify(this.discovery.sensor(a.camera)) }, true);
      this.write({ topic: this.topic(a.camera, 'actors'), payload: JSON.stringify(messageOf('actors', a).payload) }, true);
    }
    for (const [camera, payload] of this.states) this.write({ topic: this.topic(camera, 'state'), payload }, true);
  }

  /** Empties the retained topics of cameras that went: an empty retained config removes the Home Assistant entity. */
  private clearGone(): void {
    for (const camera of this.gone) {
      if (this.discovery) this.write({ topic: this.discovery.configTopic(camera), payload: '' }, true);
      this.write({ topic: this.topic(camera, 'actors'), payload: '' }, true);
      this.write({ topic: this.topic(camera, 'state'), payload: '' }, true);
    }
    this.gone.clear();
  }

  private onMessage(topic: string, payload: string): void {
    if (!this.discovery || this.stopped) return;
    if (topic === this.discovery.birthTopic) {
      if (payload === 'online') this.announce();
      return;
    }
    // A retained config of a camera that is no longer configured: it went while we were away.
    const camera = this.discovery.cameraOf(topic);
    if (camera !== undefined && payload !== '' && !this.actors.has(camera)) {
      this.log.info({ camera }, 'removing the Home Assistant sensor of a camera that is no longer configured');
      this.gone.add(camera);
      this.clearGone();
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer) return;
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.config.reconnectMaxSeconds * 1000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped && this.client && !this.client.connected) this.client.reconnect();
    }, wait);
  }

  /** Retained state is not buffered: the latest is sent on reconnect anyway. */
  private send(topic: string, payload: string, frameReceivedAt: number | undefined, bufferWhenAway: boolean, retain = false): void {
    if (this.stopped) return;
    if (this.client?.connected) return this.write({ topic, payload, frameReceivedAt }, retain);
    if (!bufferWhenAway) return;
    this.stats.dropped += this.buffer.push({ topic, payload, frameReceivedAt });
  }

  private write(item: Outgoing, retain: boolean): void {
    this.client!.publish(item.topic, item.payload, { qos: this.config.qos === 1 ? 1 : 0, retain }, (err) => {
      if (err) {
        this.stats.failed++;
        return;
      }
      this.stats.published++;
      if (item.frameReceivedAt !== undefined) this.onLatency((Date.now() - item.frameReceivedAt) / 1000);
    });
  }
}

/** Waits for `work`, but no longer than `ms`: a peer that stops answering must not hold up a shutdown. */
export async function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
