// Over-the-air updates of the component: deferred while a model swap is in flight, let through once idle.
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { PreUpdate } from './greengrass-ipc.js';

/** Something that can be busy and says when it is done (ModelStore: `busy` and its `idle` event). */
export interface BusySignal {
  readonly busy: boolean;
  on(event: 'idle', listener: () => void): unknown;
  off(event: 'idle', listener: () => void): unknown;
}

/** A busy signal and how a deferral names it ("a model swap"). */
export interface BusySource {
  name: string;
  signal: BusySignal;
}

/** The slice of the IPC connection that answers an update. */
export interface UpdateAnswer {
  deferUpdate(deploymentId: string, recheckAfterMs: number, message: string): Promise<void>;
}

export interface UpdateGateStats {
  deferred: number;
  released: number;
  lastDeploymentId: string | null;
}

export class UpdateGate {
  readonly stats: UpdateGateStats = { deferred: 0, released: 0, lastDeploymentId: null };
  /** The update we deferred and when we first did; it is let through as soon as we are idle. */
  private pending: { deploymentId: string; since: number } | undefined;
  private readonly idle = () => void this.releaseIfIdle();

  constructor(
    private readonly ipc: UpdateAnswer,
    private readonly sources: readonly BusySource[],
    private readonly settings: () => Config['greengrass'],
    private readonly log: Logger,
  ) {}

  start(): void {
    for (const s of this.sources) s.signal.on('idle', this.idle);
  }

  stop(): void {
    for (const s of this.sources) s.signal.off('idle', this.idle);
  }

  /** What keeps us busy, or undefined when an update may proceed. */
  busyWith(): string | undefined {
    const names = this.sources.filter((s) => s.signal.busy).map((s) => s.name);
    return names.length ? names.join(', ') : undefined;
  }

  /**
   * Answers a PreComponentUpdateEvent: deferred by deferRecheckSeconds while busy (the nucleus then
   * asks again), else let through (recheckAfterMs 0). Never deferred beyond maxDeferSeconds in all,
   * so that a stuck swap cannot hold back deployments for good.
   */
  async onPreUpdate(event: PreUpdate): Promise<void> {
    const { deferRecheckSeconds, maxDeferSeconds } = this.settings();
    const since = this.pending?.deploymentId === event.deploymentId ? this.pending.since : Date.now();
    const busy = this.busyWith();
    this.stats.lastDeploymentId = event.deploymentId;
    if (busy && Date.now() - since < maxDeferSeconds * 1000) {
      this.pending = { deploymentId: event.deploymentId, since };
      this.stats.deferred++;
      this.log.info({ deploymentId: event.deploymentId, busy, recheckSeconds: deferRecheckSeconds }, 'component update deferred until in-flight work is done');
      await this.answer(event.deploymentId, deferRecheckSeconds * 1000, `deferred: ${busy} in flight`);
      // The work may have finished while the deferral was on its way.
      await this.releaseIfIdle();
      return;
    }
    if (busy) this.log.warn({ deploymentId: event.deploymentId, busy, maxDeferSeconds }, 'component update deferred for too long; letting it proceed');
    this.pending = undefined;
    await this.release(event.deploymentId);
  }

  private async releaseIfIdle(): Promise<void> {
    const pending = this.pending;
    if (!pending || this.busyWith()) return;
    this.pending = undefined;
    await this.release(pending.deploymentId);
  }

  private async release(deploymentId: string): Promise<void> {
    this.stats.released++;
    this.log.info({ deploymentId }, 'component update may proceed');
    await this.answer(deploymentId, 0, 'ready for the update');
  }

  private async answer(deploymentId: string, recheckAfterMs: number, message: string): Promise<void> {
    try {
      await this.ipc.deferUpdate(deploymentId, recheckAfterMs, message);
    } catch (err) {
      // Unanswered, the nucleus proceeds after the deployment's own timeout: nothing worse happens.
      this.log.warn({ deploymentId, err }, 'could not answer the component update');
    }
  }
}
