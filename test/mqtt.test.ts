// The MQTT publisher alone: buffer while the broker is away (bounded, drops counted), MQTT 5, last will.
import t from 'tap';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/logger.js';
import { EventBus } from '../src/events/event-bus.js';
import { MqttPublisher } from '../src/publish/mqtt-publisher.js';
import { freePort, until } from './helpers/ingest.js';
import { recorder, startBroker } from './helpers/mqtt.js';

const event = (trackId: number) => ({ type: 'appeared' as const, camera: 'cam', trackId, actor: null, confidence: 0, at: new Date().toISOString() });

t.test('while the broker is away, events wait in a bounded buffer, then go out when it comes', async (t) => {
  const port = await freePort();
  const bus = new EventBus(silentLogger());
  const config = loadConfig({ env: { ACTOR_RECOGNIZER_MQTT_BUFFER_SIZE: '3', ACTOR_RECOGNIZER_MQTT_TOPIC_PREFIX: 'buf' } }).mqtt;
  const publisher = new MqttPublisher(`mqtt://127.0.0.1:${port}`, config, bus, silentLogger());
  publisher.start();
  t.teardown(() => publisher.stop());
  for (let i = 1; i <= 5; i++) bus.emit('appearance', event(i));
  t.equal(publisher.stats.dropped, 2, 'the two oldest dropped, counted');
  const { broker, url } = await startBroker(port);
  t.teardown(() => broker.stop());
  const sub = await recorder(url, 'buf');
  t.teardown(() => sub.client.endAsync());
  t.ok(await until(() => sub.messages.filter((m) => m.topic === 'buf/cam/events').length === 3, 15_000), 'the three kept arrive after the reconnect');
  t.same(
    sub.messages.filter((m) => m.topic === 'buf/cam/events').map((m) => JSON.parse(m.payload).trackId),
    [3, 4, 5],
    'in order',
  );
});

t.test('the last will: a daemon that vanishes is offline (retained)', async (t) => {
  const { broker, url } = await startBroker();
  t.teardown(() => broker.stop());
  const publisher = new MqttPublisher(
    url,
    loadConfig({ env: { ACTOR_RECOGNIZER_MQTT_TOPIC_PREFIX: 'will' } }).mqtt,
    new EventBus(silentLogger()),
    silentLogger(),
  );
  publisher.start();
  t.ok(await until(() => publisher.stats.connected, 5000));
  // Cut the socket without a DISCONNECT, as a crash or a pulled cable would.
  (publisher as unknown as { client: { stream: { destroy(): void } } }).client.stream.destroy();
  await publisher.stop();
  const sub = await recorder(url, 'will');
  t.teardown(() => sub.client.endAsync());
  t.ok(await sub.waitFor((m) => m.topic === 'will/status' && m.payload === 'offline' && m.retain, 5000), 'retained offline');
});

t.test(
  'MQTT 5 against Mosquitto',
  { skip: process.env.MQTT_TEST_URL ? false : 'MQTT_TEST_URL is not set (CI sets it to its Mosquitto): skipped' },
  async (t) => {
    const url = process.env.MQTT_TEST_URL!;
    const prefix = `v5-${process.pid}`;
    const bus = new EventBus(silentLogger());
    const publisher = new MqttPublisher(
      url,
      loadConfig({ env: { ACTOR_RECOGNIZER_MQTT_PROTOCOL_VERSION: '5', ACTOR_RECOGNIZER_MQTT_TOPIC_PREFIX: prefix } }).mqtt,
      bus,
      silentLogger(),
    );
    const sub = await recorder(url, prefix);
    t.teardown(() => sub.client.endAsync());
    publisher.start();
    t.ok(await until(() => publisher.stats.connected, 5000), 'connected with MQTT 5');
    bus.emit('appearance', event(7));
    t.ok(await sub.waitFor((m) => m.topic === `${prefix}/cam/events`, 5000), 'published');
    await publisher.stop();
    t.ok(await sub.waitFor((m) => m.topic === `${prefix}/status` && m.payload === 'offline', 5000), 'offline on stop');
  },
);
