// An in-process MQTT broker (aedes) for a machine that has none: mqtt.url unset.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { Aedes, type AedesOptions, type AuthenticateError } from 'aedes';
import type { Config } from '../config/schema.js';
import type { Logger } from '../logger.js';

/** mqtt.username and mqtt.password: when either is set, the embedded broker asks every client for both. */
export interface BrokerCredentials {
  username?: string;
  password?: string;
}

const digest = (value: string | Buffer) => createHash('sha256').update(value).digest();

export class EmbeddedBroker {
  private broker: Aedes | undefined;
  private server: Server | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly credentials: BrokerCredentials = {},
  ) {}

  /** Starts listening; resolves with the URL clients use. */
  async start(): Promise<string> {
    const broker = await Aedes.createBroker(this.authenticator());
    this.broker = broker;
    const server = createServer(broker.handle);
    this.server = server;
    server.listen(this.port, this.host);
    await once(server, 'listening');
    const address = server.address();
    const port = address && typeof address === 'object' ? address.port : this.port;
    return `mqtt://${this.host.includes(':') ? `[${this.host}]` : this.host}:${port}`;
  }

  /**
   * Without credentials configured, anyone on the listening address may connect (loopback by default);
   * with them, a client must present both, compared in constant time (issue 16: aedes accepted
   * anonymous clients while the daemon's own client was given a user name and password).
   */
  private authenticator(): Pick<AedesOptions, 'authenticate'> {
    const { username, password } = this.credentials;
    if (username === undefined && password === undefined) return {};
    const user = digest(username ?? '');
    const pass = digest(password ?? '');
    return {
      authenticate: (_client, name, secret, done) => {
        const ok = timingSafeEqual(digest(name ?? ''), user) && timingSafeEqual(digest(secret ?? ''), pass);
        if (ok) return done(null, true);
        const err = new Error('bad user name or password') as AuthenticateError;
        err.returnCode = 4 as AuthenticateError['returnCode'];
        done(err, false);
      },
    };
  }

  /** Safe to call twice. Clients still connected are cut, which fires their last will first. */
  async stop(): Promise<void> {
    const { server, broker } = this;
    this.server = undefined;
    this.broker = undefined;
    // The broker first: server.close() waits for open connections, which the broker's close cuts.
    if (broker) await new Promise<void>((resolve) => broker.close(() => resolve()));
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * For mqtt.url unset: an embedded broker on mqtt.host:mqtt.port with mqtt's credentials, or, when a
 * broker already listens there, that one. The URL to publish to, and the broker to stop if we started one.
 */
export async function startLocalBroker(mqtt: Config['mqtt'], log: Logger): Promise<{ url: string; broker?: EmbeddedBroker }> {
  const broker = new EmbeddedBroker(mqtt.host, mqtt.port, { username: mqtt.username, password: mqtt.password });
  try {
    const url = await broker.start();
    log.info({ url }, 'embedded MQTT broker listening');
    return { url, broker };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    // A broker (Mosquitto, Greengrass's Moquette) already serves this port: use it rather than fail.
    await broker.stop();
    const url = `mqtt://${mqtt.host}:${mqtt.port}`;
    log.warn({ url }, 'a broker already listens on mqtt.port: publishing to it instead of an embedded one');
    return { url };
  }
}
