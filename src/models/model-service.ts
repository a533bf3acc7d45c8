// Puts the model store and its sources together (the watched folder, S3), with one start and stop.
import { watch, type FSWatcher } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { ACTIVE_FILE, INCOMING } from './disk.js';
import { ModelStore, type ModelEvent, type Outcome } from './model-store.js';
import { S3Source } from './s3-source.js';
import type { EmbedderSpec } from '../vision/embedder.js';
import type { EventBus } from '../events/event-bus.js';

const MiB = 1024 * 1024;

/** The slice of the event bus that carries the model's swaps and refusals to MQTT, SSE, Greengrass and the page. */
export type ModelEventSink = Pick<EventBus, 'emit'>;

export class ModelService {
  readonly store: ModelStore;
  private readonly config: Config['model'];
  private readonly log: Logger;
  private watcher: FolderWatcher | undefined;
  private s3: S3Source | undefined;
  private readonly pollMs: number | undefined;

  private readonly starterMissing: string | undefined;

  /**
   * `pollMs` overrides model.s3.pollSeconds (tests); `starter`: the starter model's folder, or why it
   * cannot run (see usableStarter in starter.ts).
   */
  constructor(config: Config['model'], options: { threads: number; embedder?: EmbedderSpec; log: Logger; pollMs?: number; watch?: boolean; starter?: { dir: string } | { reason: string } }) {
    this.config = config;
    this.log = options.log;
    this.pollMs = options.pollMs;
    this.starterMissing = options.starter && 'reason' in options.starter ? options.starter.reason : undefined;
    this.store = new ModelStore(options.log, {
      dir: config.dir,
      threads: options.threads,
      embedder: options.embedder,
      keep: config.keep,
      reserveBytes: config.minFreeMiB * MiB,
      starter: options.starter && 'dir' in options.starter ? options.starter.dir : undefined,
    });
    if (options.watch !== false) this.watcher = new FolderWatcher(this.store, options.log.child({ source: 'folder' }));
  }

  async start(): Promise<void> {
    await this.store.start();
    if (!this.store.current() && this.starterMissing && this.config.starter) this.log.warn({ reason: this.starterMissing }, 'the starter model cannot run either');
    await this.watcher?.start();
    await this.startS3(this.config.s3);
  }

  /** Swaps the S3 source for another (a Greengrass configuration update); none stops polling. */
  async setS3(s3: Config['model']['s3']): Promise<void> {
    await this.s3?.stop();
    this.s3 = undefined;
    await this.startS3(s3);
  }

  private async startS3(s3: Config['model']['s3']): Promise<void> {
    if (!s3) return;
    if (!this.store.managesVersions) {
      this.log.warn({ dir: this.config.dir }, 'model.dir is one bundle, not a store of versions: S3 updates are off (point model.dir at an empty or store folder)');
      return;
    }
    this.s3 = new S3Source(this.store, this.log.child({ source: 's3' }), {
      uri: s3.uri,
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: s3.forcePathStyle,
      pollMs: this.pollMs ?? s3.pollSeconds * 1000,
    });
    await this.s3.start();
  }

  /**
   * The one path of model changes to the outputs: every swap goes to the bus as `model` (MQTT retains
   * it as `P/model`), starting with the model running now, and every refusal as `modelRefused`.
   * Returns the function that disconnects.
   */
  connect(bus: ModelEventSink): () => void {
    const model = this.store.current();
    bus.emit('model', { version: model?.version ?? null, actors: model ? [...model.actors] : [], loadedAt: model?.loadedAt.toISOString() ?? null, source: this.store.currentSource() });
    const listener = (e: ModelEvent) => {
      if (e.type === 'swapped') bus.emit('model', { version: e.version, actors: e.actors, loadedAt: e.loadedAt, source: e.source });
      else bus.emit('modelRefused', { version: e.version, running: e.previous, source: e.source, code: e.code ?? 'MODEL_INVALID', reason: e.reason ?? 'refused', at: e.at });
    };
    this.store.on('model', listener);
    return () => this.store.off('model', listener);
  }

  async status() {
    return { ...(await this.store.status()), s3: this.s3?.status() ?? null };
  }

  activate(version: string): Promise<Outcome> {
    return this.store.activate(version);
  }

  /** POST /v1/model/reload: S3 is asked now, then the folder is rescanned. */
  async reload(dir?: string) {
    if (dir) return this.store.reload(dir);
    await this.s3?.pollNow();
    const before = this.store.current()?.version ?? null;
    const outcome = await this.store.reload();
    if (outcome.ok && !outcome.changed) return { ok: true as const, version: this.store.current()?.version ?? null, changed: before !== (this.store.current()?.version ?? null) };
    return outcome;
  }

  /** Sources first, so nothing swaps while the store releases its session. Safe to call twice. */
  async stop(): Promise<void> {
    await this.s3?.stop();
    await this.watcher?.stop();
    await this.store.stop();
  }
}

/**
 * fs.watch on the folder itself, not recursively: a new version folder or a replaced manifest shows
 * up there, and recursive watching is unreliable on Linux before Node 22. A slow periodic rescan
 * catches what events miss (a manifest written inside a folder created earlier, network filesystems).
 */
export class FolderWatcher {
  private readonly store: ModelStore;
  private readonly log: Logger;
  private readonly settleMs: number;
  private readonly rescanMs: number;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(store: ModelStore, log: Logger, options: { settleMs?: number; rescanMs?: number } = {}) {
    this.store = store;
    this.log = log;
    this.settleMs = options.settleMs ?? 1000;
    this.rescanMs = options.rescanMs ?? 10_000;
  }

  async start(): Promise<void> {
    await mkdir(this.store.dir, { recursive: true });
    try {
      this.watcher = watch(this.store.dir, { persistent: false }, (_event, name) => {
        // Our own writes (the active pointer, downloads in progress) are not news.
        if (name === ACTIVE_FILE || name?.startsWith(INCOMING) || name?.startsWith('.')) return;
        this.soon(this.settleMs);
      });
      this.watcher.on('error', (err) => this.log.warn({ err }, 'watching the model folder failed; periodic rescans continue'));
    } catch (err) {
      this.log.warn({ dir: this.store.dir, err }, 'cannot watch the model folder; periodic rescans only');
    }
    this.interval = setInterval(() => this.soon(0), this.rescanMs);
    this.interval.unref();
  }

  private soon(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.scan(), ms);
    this.debounce.unref();
  }

  private async scan(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = this.store.rescan(this.settleMs).catch((err: unknown) => this.log.error({ err }, 'rescanning the model folder failed'));
    await this.running;
    this.running = undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    clearTimeout(this.debounce);
    clearInterval(this.interval);
    await this.running;
  }
}
