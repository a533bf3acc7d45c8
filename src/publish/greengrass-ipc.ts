// The Greengrass IPC connection: aws-iot-device-sdk-v2's client on the nucleus's socket, in the few calls we make.
import type { Client, model } from 'aws-iot-device-sdk-v2/dist/greengrasscoreipc.js';
import { RecognizerError } from '../errors.js';
import type { Logger } from '../logger.js';

/** The variables the nucleus sets for a component's processes; IPC is used only when the first two are set. */
export const SOCKET_VARIABLE = 'AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT';
export const TOKEN_VARIABLE = 'SVCUID';
export const THING_VARIABLE = 'AWS_IOT_THING_NAME';

/** Where the nucleus listens and the token it gave this component. */
export interface GreengrassEnv {
  socket: string;
  token: string;
  thingName: string | undefined;
}

/** The nucleus's variables, or undefined outside Greengrass (then nothing of Greengrass is attempted). */
export function greengrassEnv(env: NodeJS.ProcessEnv = process.env): GreengrassEnv | undefined {
  const socket = env[SOCKET_VARIABLE];
  const token = env[TOKEN_VARIABLE];
  if (!socket || !token) return undefined;
  return { socket, token, thingName: env[THING_VARIABLE] || undefined };
}

/** An over-the-air update announced by the nucleus (a PreComponentUpdateEvent). */
export interface PreUpdate {
  deploymentId: string;
  isGgcRestarting: boolean;
}

type Closable = { close(): Promise<void> };

const CONNECT_TIMEOUT_MS = 10_000;

/** The SDK's error, in one line: its description and the nucleus's own message, never the token. */
export function describeIpcError(err: unknown): string {
  const e = err as { description?: string; message?: string; serviceError?: { message?: string } } | undefined;
  const service = e?.serviceError?.message;
  return [e?.description ?? e?.message ?? String(err), service].filter(Boolean).join(': ');
}

function failure(what: string, err: unknown): RecognizerError {
  return new RecognizerError('GREENGRASS_IPC', `Greengrass IPC: ${what} failed: ${describeIpcError(err)}`, { cause: err });
}

export class GreengrassIpc {
  private client: Client | undefined;
  private readonly streams: Closable[] = [];
  private closed = false;
  private log: Logger | undefined;

  constructor(readonly env: GreengrassEnv) {}

  /** The logger is made from the configuration, which is read through this connection: it comes later. */
  setLogger(log: Logger): void {
    this.log = log;
  }

  /** Connects and completes the handshake; a refused token or an absent nucleus is a GREENGRASS_IPC error. */
  async connect(): Promise<void> {
    // Loaded here, not at the top: outside Greengrass the SDK and its native binding are never loaded.
    const sdk = await import('aws-iot-device-sdk-v2/dist/greengrasscoreipc.js');
    const config = sdk.createDefaultClientConfig();
    // From our env object, not process.env (which the SDK's default reads), so that tests and callers choose.
    config.hostName = this.env.socket;
    const authToken = this.env.token;
    config.connectTransform = async ({ message }) => ({ ...message, payload: JSON.stringify({ authToken }) });
    const client = sdk.createClient(config);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from the nucleus within ${CONNECT_TIMEOUT_MS / 1000} s`)), CONNECT_TIMEOUT_MS);
    });
    try {
      await Promise.race([client.connect(), timeout]);
    } catch (err) {
      await client.close().catch(() => undefined);
      throw new RecognizerError(
        'GREENGRASS_IPC',
        `Greengrass IPC: the nucleus at ${this.env.socket} refused or did not answer the connection (${describeIpcError(err)}); is ${TOKEN_VARIABLE} the token the nucleus gave this component?`,
        { cause: err },
      );
    } finally {
      clearTimeout(timer);
    }
    client.on('disconnection', () => {
      if (!this.closed) this.log?.error('the Greengrass nucleus closed the IPC connection; publishing to it stops until the component restarts');
    });
    this.client = client;
  }

  get connected(): boolean {
    return this.client !== undefined && !this.closed;
  }

  private get ipc(): Client {
    if (!this.client || this.closed) throw new RecognizerError('GREENGRASS_IPC', 'Greengrass IPC: not connected');
    return this.client;
  }

  /** The component's whole configuration (GetConfiguration with an empty key path). */
  async getConfiguration(): Promise<Record<string, unknown>> {
    try {
      const response = await this.ipc.getConfiguration({ keyPath: [] });
      const value: unknown = response.value;
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
    } catch (err) {
      throw failure('GetConfiguration', err);
    }
  }

  /** Calls `listener` with the changed key path whenever a deployment changes our configuration. */
  async onConfigurationUpdate(listener: (keyPath: string[]) => void): Promise<void> {
    const stream = this.ipc.subscribeToConfigurationUpdate({ keyPath: [] });
    stream.on('message', (m: model.ConfigurationUpdateEvents) => {
      if (m.configurationUpdateEvent) listener(m.configurationUpdateEvent.keyPath ?? []);
    });
    await this.activate(stream, 'SubscribeToConfigurationUpdate');
  }

  /** Calls `listener` when an update of this component is announced (SubscribeToComponentUpdates). */
  async onPreUpdate(listener: (event: PreUpdate) => void): Promise<void> {
    const stream = this.ipc.subscribeToComponentUpdates({});
    stream.on('message', (m: model.ComponentUpdatePolicyEvents) => {
      if (m.preUpdateEvent) listener({ deploymentId: m.preUpdateEvent.deploymentId, isGgcRestarting: m.preUpdateEvent.isGgcRestarting });
      else if (m.postUpdateEvent) this.log?.info({ deploymentId: m.postUpdateEvent.deploymentId }, 'component update done');
    });
    await this.activate(stream, 'SubscribeToComponentUpdates');
  }

  /** Defers an update by `recheckAfterMs`, or with 0 says that it may proceed now. */
  async deferUpdate(deploymentId: string, recheckAfterMs: number, message: string): Promise<void> {
    try {
      await this.ipc.deferComponentUpdate({ deploymentId, recheckAfterMs, message });
    } catch (err) {
      throw failure('DeferComponentUpdate', err);
    }
  }

  async publishToIoTCore(topicName: string, payload: string, qos: 0 | 1): Promise<void> {
    try {
      await this.ipc.publishToIoTCore({ topicName, payload, qos: (qos === 1 ? '1' : '0') as model.QOS });
    } catch (err) {
      throw failure(`PublishToIoTCore on ${topicName}`, err);
    }
  }

  /** A JSON message on local publish/subscribe: numbers stay numbers for subscribers. */
  async publishToTopic(topic: string, message: unknown): Promise<void> {
    try {
      await this.ipc.publishToTopic({ topic, publishMessage: { jsonMessage: { message } } });
    } catch (err) {
      throw failure(`PublishToTopic on ${topic}`, err);
    }
  }

  async updateState(state: 'RUNNING' | 'ERRORED'): Promise<void> {
    try {
      await this.ipc.updateState({ state: state as model.ReportedLifecycleState });
    } catch (err) {
      throw failure(`UpdateState ${state}`, err);
    }
  }

  /** Ends the subscriptions and the connection. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const stream of this.streams.splice(0)) await stream.close().catch(() => undefined);
    await this.client?.close().catch(() => undefined);
  }

  private async activate(
    stream: Closable & { activate(): Promise<unknown>; on(event: 'streamError', l: (e: unknown) => void): unknown },
    name: string,
  ): Promise<void> {
    stream.on('streamError', (err) => this.log?.warn({ operation: name, err }, 'Greengrass IPC stream error'));
    this.streams.push(stream);
    try {
      await stream.activate();
    } catch (err) {
      throw failure(name, err);
    }
  }
}
