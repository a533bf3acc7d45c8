// An in-process MQTT broker (aedes) for a machine that has none: mqtt.url unset.
import { createServer, type Server } from 'node:net';
import { once } from 'node:events';
import { Aedes } from 'aedes';

export class EmbeddedBroker {
  private broker: Aedes | undefined;
  private server: Server | undefined;

  constructor(private readonly host: string, private readonly port: number) {}

  /** Starts listening; resolves with the URL clients use. */
  async start(): Promise<string> {
    const broker = await Aedes.createBroker();
    this.broker = broker;
    const server = createServer(broker.handle);
    this.server = server;
    server.listen(this.port, this.host);
    await once(server, 'listening');
    const address = server.address();
    const port = address && typeof address === 'object' ? address.port : this.port;
    return `mqtt://${this.host.includes(':') ? `[${this.host}]` : this.host}:${port}`;
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
