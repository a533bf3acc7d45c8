// The model store: the bundles held on disk, the one that runs, verified swaps, rollback and refusals.
import { EventEmitter } from 'node:events';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.js';
import type { ActorModel } from '../recognize/actor-model.js';
import { isVersionName, manifestPath } from '../recognize/bundle-layout.js';
import type { ModelLease, ModelSource } from '../recognize/recognizer.js';
import { clearIncoming, copyToIncoming, ensureFreeSpace, INCOMING, isBundle, listHeld, moveIntoPlace, prune, quarantine, readActive, writeActive } from './disk.js';
import { STARTER_SOURCE } from './starter.js';
import { CountedModel, loadVerified, refusalOf, type Refusal } from './verified-model.js';
import type { EmbedderSpec } from '../vision/embedder.js';

/** A swap or a refusal; ModelService.connect puts them on the bus (`model`, `modelRefused`) for MQTT, SSE, Greengrass and the page. */
export interface ModelEvent {
  type: 'swapped' | 'refused';
  version: string | null;
  actors: string[];
  loadedAt: string | null;
  /** The version that ran before a swap, or that keeps running after a refusal. */
  previous: string | null;
  source: string;
  code?: string;
  reason?: string;
  at: string;
}

export type Outcome = { ok: true; version: string; changed: boolean } | { ok: false; refusal: Refusal };

export interface StoreOptions {
  dir: string;
  threads: number;
  /** The embedder the daemon runs: a bundle made for another is refused. */
  embedder?: EmbedderSpec;
  /** Versions kept on disk for rollback, the running one included. */
  keep: number;
  /** Bytes that must stay free on the disk after a download. */
  reserveBytes: number;
  /**
   * The starter model's folder (outside the store), when it may run: it runs while the store holds
   * no bundle, and can be activated like a held version (a rollback to it survives a restart).
   */
  starter?: string;
}

const MAX_REFUSALS = 20;

export class ModelStore extends EventEmitter implements ModelSource {
  private readonly log: Logger;
  private readonly options: StoreOptions;
  private running: CountedModel | null = null;
  private runningSource: string | null = null;
  /** `bundle`: model.dir is one bundle, loaded as it is; `store`: a folder of versions we manage. */
  private layout: 'bundle' | 'store' = 'store';
  private readonly refusals: Refusal[] = [];
  /** Versions already considered, so a rescan installs only what is new (and a rollback sticks). */
  private readonly seen = new Set<string>();
  /** Every change runs after the previous one: two sources can never interleave a swap. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Changes queued or running; an over-the-air update of the component waits for none (see {@link busy}). */
  private pending = 0;
  private bundleMtime: number | undefined;
  /** The starter model (outside the store) and its version, read at start. */
  private starter: { dir: string; version: string } | undefined;

  constructor(log: Logger, options: StoreOptions) {
    super();
    this.log = log;
    this.options = options;
  }

  get dir(): string {
    return this.options.dir;
  }

  /** Whether downloads and activation by version are possible (model.dir is a store, not one bundle). */
  get managesVersions(): boolean {
    return this.layout === 'store';
  }

  /** Loads what should run: the active version, else the newest held bundle that verifies. */
  async start(): Promise<void> {
    const { dir } = this.options;
    if (await isBundle(dir)) {
      this.layout = 'bundle';
      this.bundleMtime = (await stat(manifestPath(dir)).catch(() => undefined))?.mtimeMs;
      const outcome = await this.serial(() => this.verifyAndSwap(dir, dir));
      if (!outcome.ok) this.log.warn({ dir }, 'the configured bundle was refused: every face will be unknown');
      return;
    }
    await clearIncoming(dir);
    const held = await listHeld(dir);
    const active = await readActive(dir);
    held.forEach((b) => this.seen.add(b.version));
    const starterVersion = this.options.starter ? await manifestVersion(this.options.starter) : null;
    if (this.options.starter && starterVersion) {
      this.starter = { dir: this.options.starter, version: starterVersion };
      // An empty store runs the starter, so that a fresh install names well-known actors; so does a
      // store whose pointer names it (a rollback to the starter).
      if (held.length === 0 || active === starterVersion) {
        const outcome = await this.serial(() => this.verifyAndSwap(this.starter!.dir, STARTER_SOURCE, undefined, false));
        if (outcome.ok) return void this.log.info({ version: starterVersion, dir }, 'running the starter model of well-known actors until a model is trained or enrolled into model.dir');
      }
    }
    const order = [...held.filter((b) => b.version === active), ...held.filter((b) => b.version !== active)];
    for (const bundle of order) {
      const outcome = await this.serial(() => this.verifyAndSwap(bundle.path, bundle.path));
      if (outcome.ok) return;
    }
    this.log.warn({ dir, held: held.length }, 'no actor model could be loaded: every face will be unknown');
  }

  /**
   * Whether a verification, swap, rescan or rollback is queued or running. `idle` is emitted when the
   * last one ends, so that a Greengrass update deferred for it can proceed.
   */
  get busy(): boolean {
    return this.pending > 0;
  }

  current(): ActorModel | null {
    return this.running?.model ?? null;
  }

  currentSource(): string | null {
    return this.runningSource;
  }

  acquire(): ModelLease | null {
    return this.running?.acquire() ?? null;
  }

  /** Whether a version runs, is held on disk, or was refused; S3 polling skips what it already knows. */
  async knows(version: string): Promise<'running' | 'held' | 'refused' | undefined> {
    if (this.current()?.version === version) return 'running';
    if (this.refusals.some((r) => r.version === version)) return 'refused';
    if ((await listHeld(this.options.dir)).some((b) => b.version === version)) return 'held';
    return undefined;
  }

  /** Held versions, which runs, and the refusals with their reasons (GET /v1/models). */
  async status() {
    const model = this.current();
    const held = this.layout === 'store' ? await listHeld(this.options.dir) : [];
    return {
      dir: this.options.dir,
      layout: this.layout,
      running: model ? { version: model.version, actors: [...model.actors], loadedAt: model.loadedAt.toISOString(), source: this.runningSource, inFlight: this.running?.inFlight ?? 0 } : null,
      held: held.map((b) => ({ version: b.version, createdAt: b.createdAt, installedAt: new Date(b.installedAt).toISOString(), running: b.version === model?.version })),
      refusals: [...this.refusals].reverse(),
      starter: this.starter ? { version: this.starter.version, running: this.runningSource === STARTER_SOURCE } : null,
    };
  }

  /** Checks free space on the store's disk for a download of `bytes`, or throws MODEL_DISK_FULL. */
  ensureFreeSpace(bytes: number): Promise<void> {
    return ensureFreeSpace(this.options.dir, bytes, this.options.reserveBytes);
  }

  /**
   * Verifies the bundle in `folder` (a download in the incoming area, or a folder of the store) and,
   * if it passes, renames it into place and swaps it in. A refused bundle never replaces the running
   * one; a refused download is deleted.
   */
  install(folder: string, source: string): Promise<Outcome> {
    return this.serial(async () => {
      const outcome = await this.verifyAndSwap(folder, source, async (version) => moveIntoPlace(this.options.dir, folder, version));
      if (!outcome.ok && isInside(path.join(this.options.dir, INCOMING), folder)) await rm(folder, { recursive: true, force: true });
      return outcome;
    });
  }

  /** Runs a held version again (rollback), after verifying it as if it were new. */
  activate(version: string): Promise<Outcome> {
    return this.serial(async () => {
      if (this.current()?.version === version) return { ok: true, version, changed: false };
      if (this.starter?.version === version) {
        const outcome = await this.verifyAndSwap(this.starter.dir, STARTER_SOURCE, undefined, false);
        // The pointer names it, so that a restart comes back on the starter too.
        if (outcome.ok && this.layout === 'store') await mkdir(this.options.dir, { recursive: true }).then(() => writeActive(this.options.dir, version));
        return outcome;
      }
      const bundle = (await listHeld(this.options.dir)).find((b) => b.version === version);
      if (!bundle || this.layout !== 'store') {
        return { ok: false, refusal: { version, code: 'MODEL_NOT_FOUND', reason: `version ${version} is not held in ${this.options.dir}`, source: 'activate', at: new Date().toISOString() } };
      }
      return this.verifyAndSwap(bundle.path, `activate:${bundle.path}`);
    });
  }

  /**
   * The entry point for Greengrass deployments and POST /v1/model/reload: with `dir`, copies that
   * bundle (a component's artifact folder) into the store and runs it; without, looks for versions
   * that appeared in the store's folder (or re-reads the one bundle) and runs the newest.
   */
  async reload(dir?: string): Promise<Outcome | { ok: true; version: string | null; changed: false }> {
    if (dir && path.resolve(dir) !== path.resolve(this.options.dir)) {
      if (this.layout === 'bundle') return this.serial(() => this.verifyAndSwap(dir, dir));
      const version = await manifestVersion(dir);
      let folder: string;
      try {
        folder = await copyToIncoming(this.options.dir, dir, version ?? 'unnamed', this.options.reserveBytes);
      } catch (err) {
        return { ok: false, refusal: refusalOf(err, dir, version) };
      }
      return this.install(folder, dir);
    }
    return this.rescan(0);
  }

  /**
   * Runs the newest version that appeared in the store's folder since we last looked. `settleMs`:
   * a folder whose manifest is younger is left for the next look, since a copy may still be running.
   */
  async rescan(settleMs: number): Promise<Outcome | { ok: true; version: string | null; changed: false }> {
    if (this.layout === 'bundle') {
      // The one bundle is read again only when its manifest was rewritten (writeBundle renames it last).
      const mtime = (await stat(manifestPath(this.options.dir)).catch(() => undefined))?.mtimeMs;
      if (settleMs > 0 && (mtime === undefined || mtime === this.bundleMtime || Date.now() - mtime < settleMs)) return { ok: true, version: this.current()?.version ?? null, changed: false };
      this.bundleMtime = mtime;
      return this.serial(() => this.verifyAndSwap(this.options.dir, this.options.dir));
    }
    const now = Date.now();
    // settleMs 0 takes everything there: Date.now() counts whole milliseconds and a manifest's mtime
    // their fractions, so a bundle written within the same millisecond looked younger than now and was
    // skipped, to be installed later beside a newer one that it then never ran before (and pruned).
    const fresh = (await listHeld(this.options.dir)).filter((b) => !this.seen.has(b.version) && (settleMs <= 0 || now - b.installedAt >= settleMs));
    fresh.forEach((b) => this.seen.add(b.version));
    // Newest first; an older one is only tried when the newer is refused.
    for (const bundle of fresh) {
      const outcome = await this.serial(() => this.verifyAndSwap(bundle.path, bundle.path));
      if (outcome.ok) return outcome;
    }
    return { ok: true, version: this.current()?.version ?? null, changed: false };
  }

  /** Releases the running session once its in-flight uses are done. Safe to call twice. */
  async stop(): Promise<void> {
    const running = this.running;
    this.running = null;
    await running?.retire();
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    this.pending++;
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    void this.queue.then(() => {
      if (--this.pending === 0) this.emit('idle');
    });
    return next;
  }

  /** `inStore`: the bundle is one of the store's versions (the starter is not: no pointer, no pruning for it). */
  private async verifyAndSwap(folder: string, source: string, place?: (version: string) => Promise<string>, inStore = this.layout === 'store'): Promise<Outcome> {
    const previous = this.current()?.version ?? null;
    let model: ActorModel;
    try {
      model = await loadVerified(folder, { threads: this.options.threads, embedder: this.options.embedder });
    } catch (err) {
      const refusal = this.refuse(err, source, await manifestVersion(folder));
      if (inStore) await this.setApart(folder, refusal);
      return { ok: false, refusal };
    }
    try {
      if (place) await place(model.version);
      this.seen.add(model.version);
      if (inStore) await writeActive(this.options.dir, model.version);
    } catch (err) {
      await model.release();
      throw err;
    }
    // The swap itself is one assignment: requests that already hold a lease finish on the old session.
    const old = this.running;
    this.running = new CountedModel(model, (err) => this.log.error({ err }, 'releasing a retired model failed'));
    this.runningSource = source;
    this.log.info({ version: model.version, previous, actors: model.actors.length, source, inFlightOnOld: old?.inFlight ?? 0 }, 'actor model swapped in');
    this.publish({ type: 'swapped', version: model.version, actors: [...model.actors], loadedAt: model.loadedAt.toISOString(), previous, source, at: new Date().toISOString() });
    if (old) void old.retire().then(() => this.log.debug({ version: old.model.version }, 'previous model drained and released'));
    if (inStore) {
      // Only verified versions count toward `keep`, and the one that ran before stays for a rollback.
      const removed = await prune(this.options.dir, this.options.keep, new Set([model.version, ...(previous ? [previous] : [])]), this.seen);
      if (removed.length) this.log.info({ removed }, 'old versions removed from the store');
    }
    return { ok: true, version: model.version, changed: true };
  }

  /**
   * A refused folder of the store's own (not a download, which is deleted, nor model.dir itself) goes
   * to `.refused/`, so that it never counts as a version kept, and never shows as one to roll back to.
   */
  private async setApart(folder: string, refusal: Refusal): Promise<void> {
    const { dir } = this.options;
    if (!isInside(dir, folder) || isInside(path.join(dir, INCOMING), folder)) return;
    try {
      const to = await quarantine(dir, folder, refusal);
      this.log.warn({ version: refusal.version, to }, 'refused bundle set apart');
    } catch (err) {
      this.log.error({ err, folder }, 'could not set a refused bundle apart');
    }
  }

  /**
   * Records a bundle refused before it could even be loaded (a source found its manifest unreadable),
   * so that it is listed, reported and not fetched again, like one that failed verification.
   */
  refuse(err: unknown, source: string, version: string | null): Refusal {
    const previous = this.current()?.version ?? null;
    const refusal = refusalOf(err, source, version);
    if (refusal.version) this.seen.add(refusal.version);
    this.refusals.push(refusal);
    if (this.refusals.length > MAX_REFUSALS) this.refusals.shift();
    this.log.error({ ...refusal, running: previous }, 'actor model refused; the running model keeps serving');
    this.publish({ type: 'refused', version: refusal.version, actors: [], loadedAt: null, previous, source, code: refusal.code, reason: refusal.reason, at: refusal.at });
    return refusal;
  }

  /** A listener that throws is logged, never allowed to break a swap. */
  private publish(event: ModelEvent): void {
    for (const listener of this.listeners('model')) {
      try {
        (listener as (e: ModelEvent) => void)(event);
      } catch (err) {
        this.log.error({ err }, 'a model event listener failed');
      }
    }
  }
}

function isInside(parent: string, child: string): boolean {
  const rel = path.relative(path.resolve(parent), path.resolve(child));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** The version a manifest claims, read leniently so a refusal can still name it. */
async function manifestVersion(dir: string): Promise<string | null> {
  try {
    const version = (JSON.parse(await readFile(manifestPath(dir), 'utf8')) as { version?: unknown }).version;
    return isVersionName(version) ? version : null;
  } catch {
    return null;
  }
}
