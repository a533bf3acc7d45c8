// A fake Greengrass nucleus: the IPC wire protocol (event-stream RPC) on a Unix socket, for the real SDK client.
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';

type Json = Record<string, unknown>;

// aws-c-event-stream's RPC message types and flags (aws-crt eventstream.d.ts: MessageType, MessageFlags).
const APPLICATION_MESSAGE = 0;
const APPLICATION_ERROR = 1;
const PING = 2;
const PING_RESPONSE = 3;
const CONNECT = 4;
const CONNECT_ACK = 5;
const CONNECTION_ACCEPTED = 1;
const TERMINATE_STREAM = 2;

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

/** What each operation answers with (the SDK checks `service-model-type` against its service model). */
const RESPONSES: Record<string, string> = {
  GetConfiguration: 'GetConfigurationResponse',
  SubscribeToConfigurationUpdate: 'SubscribeToConfigurationUpdateResponse',
  SubscribeToComponentUpdates: 'SubscribeToComponentUpdatesResponse',
  PublishToIoTCore: 'PublishToIoTCoreResponse',
  PublishToTopic: 'PublishToTopicResponse',
  UpdateState: 'UpdateStateResponse',
  DeferComponentUpdate: 'DeferComponentUpdateResponse',
};

export interface IoTCorePublish {
  topic: string;
  qos: string;
  payload: string;
}

export interface LocalPublish {
  topic: string;
  message: unknown;
}

export interface Deferral {
  deploymentId: string;
  recheckAfterMs: number;
  message: string;
}

interface Stream {
  socket: net.Socket;
  id: number;
}

export class FakeNucleus extends EventEmitter {
  readonly iotCore: IoTCorePublish[] = [];
  readonly local: LocalPublish[] = [];
  readonly states: string[] = [];
  readonly deferrals: Deferral[] = [];
  /** Connections refused for a wrong token, and every operation called, in order. */
  refused = 0;
  readonly operations: string[] = [];
  private readonly configStreams: Stream[] = [];
  private readonly updateStreams: Stream[] = [];
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;

  private constructor(
    readonly dir: string,
    readonly socketPath: string,
    readonly token: string,
    public configuration: Json,
    readonly componentName: string,
  ) {
    super();
  }

  static async start(options: { token?: string; configuration?: Json; componentName?: string } = {}): Promise<FakeNucleus> {
    // Unix socket paths are limited to 108 bytes: a short temp folder.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gg-'));
    const nucleus = new FakeNucleus(
      dir,
      path.join(dir, 'ipc.socket'),
      options.token ?? 'svcuid-test-token',
      structuredClone(options.configuration ?? {}),
      options.componentName ?? 'com.example.ActorRecognizer',
    );
    nucleus.server = net.createServer((socket) => nucleus.accept(socket));
    await new Promise<void>((resolve) => nucleus.server!.listen(nucleus.socketPath, resolve));
    return nucleus;
  }

  /** The variables the nucleus sets for a component's processes. */
  env(token = this.token): Record<string, string> {
    return { AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT: this.socketPath, SVCUID: token, AWS_IOT_THING_NAME: 'test-thing' };
  }

  /** Merges `values` into the configuration and tells subscribers, one event per changed key, as the nucleus does. */
  updateConfiguration(values: Json): void {
    const paths: string[][] = [];
    const merge = (target: Json, over: Json, at: string[]) => {
      for (const [key, value] of Object.entries(over)) {
        const current = target[key];
        if (isObject(current) && isObject(value)) merge(current, value, [...at, key]);
        else {
          target[key] = structuredClone(value);
          paths.push([...at, key]);
        }
      }
    };
    merge(this.configuration, values, []);
    for (const keyPath of paths) {
      for (const s of this.configStreams)
        this.send(s.socket, s.id, 'ConfigurationUpdateEvents', { configurationUpdateEvent: { componentName: this.componentName, keyPath } });
    }
  }

  /** A deployment announces an update of the component (PreComponentUpdateEvent). */
  announceUpdate(deploymentId: string): void {
    for (const s of this.updateStreams) this.send(s.socket, s.id, 'ComponentUpdatePolicyEvents', { preUpdateEvent: { deploymentId, isGgcRestarting: false } });
  }

  /** Resolves with the first truthy `check()`, looked at now and after every request (rejects after `ms`). */
  waitFor<T>(check: () => T | undefined | false, what: string, ms = 30_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const look = () => {
        const value = check();
        if (!value) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake nucleus: still waiting for ${what} after ${ms} ms (operations: ${this.operations.join(', ')})`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('request', look);
      };
      this.on('request', look);
      look();
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffer = Buffer.alloc(0);
    let connected = false;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      // Each frame starts with its total length (prelude), so frames are cut by that count.
      while (buffer.length >= 4 && buffer.length >= buffer.readUInt32BE(0)) {
        const length = buffer.readUInt32BE(0);
        const message = codec.decode(new Uint8Array(buffer.subarray(0, length)));
        buffer = buffer.subarray(length);
        const headers = plain(message.headers);
        const body = Buffer.from(message.body).toString('utf8');
        const type = headers[':message-type'];
        if (type === CONNECT) {
          connected = this.handshake(socket, body);
          if (!connected) return;
        } else if (!connected) {
          socket.destroy();
          return;
        } else if (type === PING) {
          this.write(socket, { ':message-type': PING_RESPONSE, ':message-flags': 0, ':stream-id': 0 }, '');
        } else if (type === APPLICATION_MESSAGE && typeof headers.operation === 'string') {
          this.operation(socket, Number(headers[':stream-id']), headers.operation, body);
        }
        // Anything else on an open stream (the client ending it) needs no answer.
      }
    });
  }

  /** The connect message carries {"authToken"}; a wrong one gets a connect-ack without the accepted flag. */
  private handshake(socket: net.Socket, body: string): boolean {
    let token: unknown;
    try {
      token = (JSON.parse(body) as { authToken?: unknown }).authToken;
    } catch {
      token = undefined;
    }
    const ok = token === this.token;
    this.write(socket, { ':message-type': CONNECT_ACK, ':message-flags': ok ? CONNECTION_ACCEPTED : 0, ':stream-id': 0 }, '');
    if (!ok) {
      this.refused++;
      socket.end();
    }
    this.emit('request');
    return ok;
  }

  private operation(socket: net.Socket, id: number, operation: string, body: string): void {
    const name = operation.replace(/^aws\.greengrass#/, '');
    const request = (body ? JSON.parse(body) : {}) as Json;
    this.operations.push(name);
    const response = RESPONSES[name];
    if (!response) {
      this.send(socket, id, 'ServiceError', { message: `the fake nucleus does not implement ${name}` }, APPLICATION_ERROR, TERMINATE_STREAM);
    } else if (name === 'GetConfiguration') {
      const keyPath = (request.keyPath as string[] | undefined) ?? [];
      const value = keyPath.reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), this.configuration);
      this.send(socket, id, response, { componentName: this.componentName, value: structuredClone(value) }, APPLICATION_MESSAGE, TERMINATE_STREAM);
    } else if (name === 'SubscribeToConfigurationUpdate' || name === 'SubscribeToComponentUpdates') {
      (name === 'SubscribeToComponentUpdates' ? this.updateStreams : this.configStreams).push({ socket, id });
      this.send(socket, id, response, {});
    } else {
      this.record(name, request);
      this.send(socket, id, response, {}, APPLICATION_MESSAGE, TERMINATE_STREAM);
    }
    this.emit('request');
  }

  private record(name: string, request: Json): void {
    if (name === 'PublishToIoTCore') {
      this.iotCore.push({
        topic: String(request.topicName),
        qos: String(request.qos),
        payload: Buffer.from(String(request.payload ?? ''), 'base64').toString('utf8'),
      });
    } else if (name === 'PublishToTopic') {
      const publish = request.publishMessage as { jsonMessage?: { message?: unknown } } | undefined;
      this.local.push({ topic: String(request.topic), message: publish?.jsonMessage?.message });
    } else if (name === 'UpdateState') {
      this.states.push(String(request.state));
    } else if (name === 'DeferComponentUpdate') {
      this.deferrals.push({
        deploymentId: String(request.deploymentId),
        recheckAfterMs: Number(request.recheckAfterMs ?? 0),
        message: String(request.message ?? ''),
      });
    }
  }

  private send(socket: net.Socket, id: number, shape: string, payload: Json, type = APPLICATION_MESSAGE, flags = 0): void {
    this.write(
      socket,
      {
        ':message-type': type,
        ':message-flags': flags,
        ':stream-id': id,
        'service-model-type': `aws.greengrass#${shape}`,
        ':content-type': 'application/json',
      },
      JSON.stringify(payload),
    );
  }

  private write(socket: net.Socket, headers: Record<string, number | string>, body: string): void {
    const encoded: MessageHeaders = {};
    for (const [name, value] of Object.entries(headers)) encoded[name] = typeof value === 'number' ? { type: 'integer', value } : { type: 'string', value };
    if (!socket.destroyed) socket.write(codec.encode({ headers: encoded, body: new Uint8Array(Buffer.from(body, 'utf8')) }));
  }
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function plain(headers: MessageHeaders): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).map(([name, h]) => [name, h.value]));
}
