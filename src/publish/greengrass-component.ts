// The daemon as a Greengrass component: configuration over IPC (read, then live updates), publishing, state, OTA deferral.
import { EventEmitter } from 'node:events';
import { classifyChanges, componentConfig, withoutComponentCopies } from '../config/greengrass-config.js';
import type { Config } from '../config/schema.js';
import { isRecognizerError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { EventBus } from '../events/event-bus.js';
import { GreengrassIpc, greengrassEnv } from './greengrass-ipc.js';
import { GreengrassPublisher } from './greengrass-publisher.js';
import { UpdateGate, type BusySource } from './greengrass-updates.js';
import { bounded } from './mqtt-publisher.js';

/** How long stop() waits for a configuration refresh in flight. */
const STOP_WAIT_MS = 3000;

/** Where the daemon applies a new configuration's live keys (Daemon.applyLive); returns the keys it could not apply. */
export interface LiveConfigTarget {
  apply(next: Config, liveKeys: readonly string[]): Promise<string[]>;
}

/** What the component works on once the daemon runs. */
export interface GreengrassTargets {
  bus: Pick<EventBus, 'on'>;
  busy: readonly BusySource[];
  target: LiveConfigTarget;
}

/** The outcome of a configuration update, logged and published on `<prefix>/config`. */
export interface ConfigReport {
  applied: string[];
  /** Live keys that could not be applied (a refused model folder, mqtt.url unset without a local broker). */
  notApplied: string[];
  /** Keys whose new value runs only after a restart of the component (api.port, vision.backend, …). */
  restartRequired: string[];
  /** Why the new configuration was refused (the running one stays), or null. */
  rejected: string | null;
  at: string;
}

/** The configuration read at start, and what later updates are merged with. */
export interface ComponentStart {
  config: Config;
  file: string | undefined;
  /** The environment without the recipe's copies of the component configuration. */
  env: NodeJS.ProcessEnv;
}

/**
 * Outside Greengrass (no nucleus variables): undefined, and nothing is attempted. Inside: connects to
 * the nucleus and builds the configuration: defaults, the file if any, the component
 * configuration, the environment. A configuration the schema refuses is reported as ERRORED.
 */
export async function openGreengrass(options: { file?: string; env: NodeJS.ProcessEnv }): Promise<{ ipc: GreengrassIpc; start: ComponentStart } | undefined> {
  const where = greengrassEnv(options.env);
  if (!where) return undefined;
  const ipc = new GreengrassIpc(where);
  await ipc.connect();
  try {
    const values = await ipc.getConfiguration();
    const filtered = withoutComponentCopies(options.env, values);
    return { ipc, start: { config: componentConfig(values, { file: options.file, env: filtered }), file: options.file, env: filtered } };
  } catch (err) {
    if (isRecognizerError(err, 'CONFIG_INVALID')) await ipc.updateState('ERRORED').catch(() => undefined);
    await ipc.close();
    throw err;
  }
}

export class GreengrassComponent extends EventEmitter {
  private running: Config;
  private publisher: GreengrassPublisher | undefined;
  private gate: UpdateGate | undefined;
  private target: LiveConfigTarget | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  private stopped = false;

  constructor(
    private readonly ipc: GreengrassIpc,
    private readonly initial: ComponentStart,
    private readonly log: Logger,
  ) {
    super();
    this.running = initial.config;
  }

  /** The configuration now in force (live keys of updates included). */
  get config(): Config {
    return this.running;
  }

  get stats() {
    return { publisher: this.publisher?.stats, updates: this.gate?.stats, connected: this.ipc.connected };
  }

  /** Publishes the bus's events from now on: before the cameras start, so that none is missed. */
  start(targets: GreengrassTargets): void {
    this.ipc.setLogger(this.log);
    this.target = targets.target;
    this.publisher = new GreengrassPublisher(this.ipc, this.running.greengrass, this.ipc.env.thingName, targets.bus, this.log.child({ part: 'publish' }));
    this.publisher.start();
    this.gate = new UpdateGate(this.ipc, targets.busy, () => this.running.greengrass, this.log.child({ part: 'updates' }));
    this.gate.start();
  }

  /** Once the daemon serves: follows configuration updates and update announcements, and reports RUNNING. */
  async ready(): Promise<void> {
    // Following updates is optional: a recipe whose access control lacks them must not stop a daemon
    // that already serves; only reporting the state is required of a component.
    await this.ipc
      .onConfigurationUpdate((keyPath) => this.configurationChanged(keyPath))
      .catch((err: unknown) => this.log.warn({ err }, 'cannot follow configuration updates: changes need a restart'));
    await this.ipc
      .onPreUpdate((event) => void this.gate?.onPreUpdate(event))
      .catch((err: unknown) => this.log.warn({ err }, 'cannot follow component updates: they will not wait for a model swap'));
    await this.ipc.updateState('RUNNING');
    this.publisher?.publish(['status'], { status: 'online', at: new Date().toISOString() });
    this.log.info(
      { thingName: this.ipc.env.thingName ?? null, iotCore: this.running.greengrass.publishToIoTCore, local: this.running.greengrass.publishToLocal },
      'Greengrass IPC ready: component RUNNING',
    );
  }

  /** Tells the nucleus that start-up failed, when it can still hear us. */
  async reportErrored(): Promise<void> {
    await this.ipc.updateState('ERRORED').catch((err: unknown) => this.log.warn({ err }, 'could not report ERRORED'));
  }

  /** Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.gate?.stop();
    // A nucleus that stopped answering GetConfiguration must not keep the cameras' ffmpeg running.
    if (this.refreshing) await bounded(this.refreshing, STOP_WAIT_MS);
    this.publisher?.publish(['status'], { status: 'offline', at: new Date().toISOString() });
    await this.publisher?.stop();
    await this.ipc.close();
  }

  /** One event per changed key arrives; one refresh reads them all, and events during it ask for one more. */
  private configurationChanged(keyPath: string[]): void {
    this.log.debug({ keyPath }, 'component configuration changed');
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        await this.refresh().catch((err: unknown) => this.log.error({ err }, 'applying a configuration update failed'));
      } while (this.refreshAgain && !this.stopped);
    })().finally(() => (this.refreshing = undefined));
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    const values = await this.ipc.getConfiguration();
    let next: Config;
    try {
      next = componentConfig(values, { file: this.initial.file, env: this.initial.env });
    } catch (err) {
      if (!isRecognizerError(err, 'CONFIG_INVALID')) throw err;
      this.log.error({ err }, 'configuration update refused; the running configuration stays');
      return this.report({
        applied: [],
        notApplied: [],
        restartRequired: this.restartRequired(this.running),
        rejected: err.message,
        at: new Date().toISOString(),
      });
    }
    const { live, restart } = classifyChanges(this.running, next);
    if (live.length === 0 && restart.length === 0) return;
    const notApplied = live.length > 0 && this.target ? await this.target.apply(next, live) : [];
    this.running = next;
    this.publisher?.setSettings(next.greengrass);
    const restartRequired = this.restartRequired(next);
    if (restartRequired.length) this.log.warn({ keys: restartRequired }, 'configuration keys changed that take effect only after the component restarts');
    if (notApplied.length) this.log.warn({ keys: notApplied }, 'configuration keys that could not be applied live');
    this.report({ applied: live.filter((k) => !notApplied.includes(k)), notApplied, restartRequired, rejected: null, at: new Date().toISOString() });
  }

  /** Keys whose value differs from the one the daemon started with and that only a restart applies. */
  private restartRequired(config: Config): string[] {
    return classifyChanges(this.initial.config, config).restart;
  }

  private report(report: ConfigReport): void {
    if (report.applied.length) this.log.info({ keys: report.applied }, 'configuration update applied live');
    this.publisher?.publish(['config'], { ...report });
    this.emit('report', report);
  }
}
