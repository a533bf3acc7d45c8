// MQTT for tests: a broker the test starts (aedes), or Mosquitto at MQTT_TEST_URL, and a recording subscriber.
import { connectAsync, type MqttClient } from 'mqtt';
import { EmbeddedBroker } from '../../src/publish/embedded-broker.js';
import { freePort, until } from './ingest.js';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}

/** The brokers to run a test against: always one we start, plus Mosquitto when MQTT_TEST_URL is set. */
export function brokerUrls(): ('embedded' | string)[] {
  return ['embedded', ...(process.env.MQTT_TEST_URL ? [process.env.MQTT_TEST_URL] : [])];
}

/** Starts an aedes broker on a free (or given) port. */
export async function startBroker(port?: number): Promise<{ broker: EmbeddedBroker; url: string; port: number }> {
  const p = port ?? (await freePort());
  const broker = new EmbeddedBroker('127.0.0.1', p);
  return { broker, url: await broker.start(), port: p };
}

/** A subscriber that records everything under `prefix/#`, reconnecting quickly if the broker goes. */
export async function recorder(
  url: string,
  prefix: string,
): Promise<{ client: MqttClient; messages: Received[]; waitFor(match: (m: Received) => boolean, ms: number): Promise<Received | undefined> }> {
  const client = await connectAsync(url, { reconnectPeriod: 300, clean: true });
  const messages: Received[] = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload: payload.toString(), retain: packet.retain, at: Date.now() }));
  client.on('connect', () => void client.subscribe(`${prefix}/#`, { qos: 1 }));
  await client.subscribeAsync(`${prefix}/#`, { qos: 1 });
  return {
    client,
    messages,
    async waitFor(match, ms) {
      await until(() => messages.some(match), ms);
      return messages.find(match);
    },
  };
}
