// Home Assistant MQTT discovery against a real broker: the payloads Home Assistant documents, stable ids, clean removal.
import { connectAsync } from 'mqtt';
import t, { type Test } from 'tap';
import { loadConfig } from '../src/config/load.js';
import { silentLogger } from '../src/logger.js';
import { EventBus } from '../src/events/event-bus.js';
import { MqttPublisher } from '../src/publish/mqtt-publisher.js';
import { until } from './helpers/ingest.js';
import { brokerUrls, recorder, startBroker, type Received } from './helpers/mqtt.js';

/**
 * The configuration variables of an MQTT sensor, as https://www.home-assistant.io/integrations/sensor.mqtt/
 * lists them, plus `origin` from https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery.
 */
const SENSOR_KEYS = new Set([
  'availability',
  'availability_mode',
  'availability_template',
  'availability_topic',
  'default_entity_id',
  'device',
  'device_class',
  'enabled_by_default',
  'encoding',
  'entity_category',
  'entity_picture',
  'expire_after',
  'force_update',
  'icon',
  'json_attributes_template',
  'json_attributes_topic',
  'last_reset_value_template',
  'name',
  'object_id',
  'options',
  'origin',
  'payload_available',
  'payload_not_available',
  'platform',
  'qos',
  'state_class',
  'state_topic',
  'suggested_display_precision',
  'unique_id',
  'unit_of_measurement',
  'value_template',
]);
const AVAILABILITY_KEYS = new Set(['payload_available', 'payload_not_available', 'topic', 'value_template']);
const DEVICE_KEYS = new Set([
  'configuration_url',
  'connections',
  'hw_version',
  'identifiers',
  'manufacturer',
  'model',
  'model_id',
  'name',
  'serial_number',
  'suggested_area',
  'sw_version',
  'via_device',
]);
const ORIGIN_KEYS = new Set(['name', 'sw_version', 'support_url']);
/** `<discovery_prefix>/<component>/[<node_id>/]<object_id>/config`, ids of [a-zA-Z0-9_-]. */
const TOPIC = /^(?<prefix>.+)\/(?<component>sensor)\/(?<node>[a-zA-Z0-9_-]+)\/(?<object>[a-zA-Z0-9_-]+)\/config$/;

/** Checks one config against the documented schema, field by field; returns the problems. */
function problems(config: Record<string, unknown>): string[] {
  const out: string[] = [];
  const string = (v: unknown) => typeof v === 'string' && v.length > 0;
  for (const key of Object.keys(config)) if (!SENSOR_KEYS.has(key)) out.push(`unknown key ${key}`);
  if (!string(config.state_topic)) out.push('state_topic is required');
  for (const key of ['name', 'unique_id', 'value_template', 'json_attributes_topic', 'icon'])
    if (key in config && !string(config[key])) out.push(`${key} must be a string`);
  if ('qos' in config && ![0, 1, 2].includes(config.qos as number)) out.push('qos is 0, 1 or 2');
  if ('icon' in config && !/^mdi:[a-z0-9-]+$/.test(config.icon as string)) out.push('icon is an mdi: name');
  if ('availability' in config && 'availability_topic' in config) out.push('availability and availability_topic must not be used together');
  const availability = config.availability;
  if (availability !== undefined) {
    if (!Array.isArray(availability) || availability.length === 0) out.push('availability is a list');
    for (const a of (Array.isArray(availability) ? availability : []) as Record<string, unknown>[]) {
      for (const key of Object.keys(a)) if (!AVAILABILITY_KEYS.has(key)) out.push(`availability: unknown key ${key}`);
      if (!string(a.topic)) out.push('availability: topic is required');
    }
  }
  const device = config.device as Record<string, unknown> | undefined;
  if (device !== undefined) {
    for (const key of Object.keys(device)) if (!DEVICE_KEYS.has(key)) out.push(`device: unknown key ${key}`);
    const ids = device.identifiers;
    const identified = (Array.isArray(ids) && ids.length > 0 && ids.every(string)) || string(ids) || Array.isArray(device.connections);
    if (!identified) out.push('device: at least one of identifiers or connections');
    if (!string(config.unique_id)) out.push('device works only with a unique_id');
    for (const key of ['name', 'manufacturer', 'model', 'sw_version']) if (key in device && !string(device[key])) out.push(`device.${key} must be a string`);
  }
  const origin = config.origin as Record<string, unknown> | undefined;
  if (origin !== undefined) {
    for (const key of Object.keys(origin)) if (!ORIGIN_KEYS.has(key)) out.push(`origin: unknown key ${key}`);
    if (!string(origin.name)) out.push('origin: name is required');
  }
  return out;
}

/** The retained messages a client subscribing now gets under `filter`. */
async function retained(url: string, filter: string): Promise<Received[]> {
  const client = await connectAsync(url, { clean: true });
  const got: Received[] = [];
  client.on('message', (topic, payload, packet) => {
    if (packet.retain) got.push({ topic, payload: payload.toString(), retain: true, at: Date.now() });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  await new Promise((r) => setTimeout(r, 600));
  await client.endAsync();
  return got;
}

let run = 0;

async function discoveryAgainst(t: Test, url: string): Promise<void> {
  run++;
  const prefix = `ha-${process.pid}-${run}`;
  const discovery = `disc-${process.pid}-${run}`;
  const config = loadConfig({
    env: { ACTOR_RECOGNIZER_MQTT_TOPIC_PREFIX: prefix, ACTOR_RECOGNIZER_MQTT_HOME_ASSISTANT: 'true', ACTOR_RECOGNIZER_MQTT_DISCOVERY_PREFIX: discovery },
  }).mqtt;
  const sub = await recorder(url, discovery);
  t.teardown(() => sub.client.endAsync());
  await sub.client.subscribeAsync(`${prefix}/#`, { qos: 1 });
  // A camera configured before, removed while the daemon was down: its retained config is still there.
  const before = await connectAsync(url);
  await before.publishAsync(
    `${discovery}/sensor/${prefix}/attic_on_screen/config`,
    JSON.stringify({ name: 'attic on screen', state_topic: `${prefix}/attic/actors`, unique_id: `${prefix}_attic_on_screen` }),
    { retain: true, qos: 1 },
  );
  await before.endAsync();

  const bus = new EventBus(silentLogger());
  const start = () => {
    const publisher = new MqttPublisher(url, config, bus, silentLogger());
    publisher.start();
    return publisher;
  };
  let publisher = start();
  t.teardown(() => publisher.stop());
  // As each camera worker does when it starts: nobody on screen.
  const at = new Date().toISOString();
  bus.emit('actors', { camera: 'living-room', actors: [], at, confidences: {}, since: {}, unknown: 0 });
  bus.emit('actors', { camera: 'hallway', actors: [], at, confidences: {}, since: {}, unknown: 0 });
  const configOf = (camera: string) => `${discovery}/sensor/${prefix}/${camera}_on_screen/config`;
  const living = await sub.waitFor((m) => m.topic === configOf('living-room') && m.payload !== '', 10_000);
  const hallway = await sub.waitFor((m) => m.topic === configOf('hallway') && m.payload !== '', 10_000);
  t.ok(living && hallway, 'a sensor config per camera');
  t.equal((await retained(url, configOf('living-room')))[0]?.payload, living!.payload, 'retained, so that Home Assistant finds it whenever it starts');
  const match = TOPIC.exec(living!.topic);
  t.match(
    match?.groups,
    { prefix: discovery, component: 'sensor', node: prefix, object: 'living-room_on_screen' },
    'the documented topic layout, under the configured discovery prefix',
  );

  const sensor = JSON.parse(living!.payload) as Record<string, any>;
  const other = JSON.parse(hallway!.payload) as Record<string, any>;
  t.same(problems(sensor), [], 'every field as Home Assistant documents it');
  t.same(problems(other), []);
  t.equal(sensor.state_topic, `${prefix}/living-room/actors`, 'state: the names on screen (P/<camera>/actors)');
  t.equal(sensor.json_attributes_topic, sensor.state_topic, 'attributes: the whole payload (confidences, since, unknown)');
  t.match(sensor.value_template, /value_json\.actors \| join/);
  t.same(sensor.availability, [{ topic: `${prefix}/status`, payload_available: 'online', payload_not_available: 'offline' }], 'available from P/status');
  t.same(sensor.device, other.device, 'one device for the daemon');
  t.not(sensor.unique_id, other.unique_id, 'one unique_id per camera');

  // The state is published as soon as the camera runs: an empty list, so the sensor starts defined.
  const empty = await sub.waitFor((m) => m.topic === `${prefix}/hallway/actors`, 10_000);
  t.match(JSON.parse(empty!.payload), { actors: [], unknown: 0 });
  t.ok(await sub.waitFor((m) => m.topic === `${prefix}/status` && m.payload === 'online', 10_000), 'P/status online: the sensors are available');
  const since = new Date(Date.now() - 4000).toISOString();
  bus.emit('actors', {
    camera: 'living-room',
    actors: ['Madonna'],
    at: new Date().toISOString(),
    confidences: { Madonna: 0.973 },
    since: { Madonna: since },
    unknown: 1,
  });
  const state = await sub.waitFor((m) => m.topic === `${prefix}/living-room/actors` && m.payload.includes('Madonna'), 10_000);
  t.match(
    JSON.parse(state!.payload),
    { actors: ['Madonna'], confidences: { Madonna: 0.973 }, since: { Madonna: since }, unknown: 1 },
    'names, confidences, since, and the strangers on screen',
  );

  // The config of the camera that went while the daemon was down is emptied.
  t.ok(
    await until(() => sub.messages.some((m) => m.topic === configOf('attic') && m.payload === ''), 10_000),
    'a camera removed while the daemon was down: its config emptied',
  );
  t.same(
    (await retained(url, `${discovery}/sensor/${prefix}/+/config`)).map((m) => m.topic).sort(),
    [configOf('hallway'), configOf('living-room')],
    'only the configured cameras remain',
  );

  // Home Assistant restarting (its birth message) gets discovery again.
  const count = () => sub.messages.filter((m) => m.topic === configOf('living-room')).length;
  const sent = count();
  const ha = await connectAsync(url);
  await ha.publishAsync(`${discovery}/status`, 'online', { qos: 1 });
  await ha.endAsync();
  t.ok(await until(() => count() > sent, 10_000), "sent again on Home Assistant's birth message");

  // A restart: the same ids, so Home Assistant keeps its entities.
  await publisher.stop();
  t.ok(await sub.waitFor((m) => m.topic === `${prefix}/status` && m.payload === 'offline', 10_000), 'offline: the sensors become unavailable');
  const seen = sub.messages.length;
  publisher = start();
  bus.emit('actors', { camera: 'living-room', actors: [], at: new Date().toISOString(), confidences: {}, since: {}, unknown: 0 });
  bus.emit('actors', { camera: 'hallway', actors: [], at: new Date().toISOString(), confidences: {}, since: {}, unknown: 0 });
  const again = await until(() => sub.messages.slice(seen).some((m) => m.topic === configOf('living-room') && m.payload !== ''), 10_000);
  t.ok(again, 'announced again after the restart');
  const afterRestart = JSON.parse(sub.messages.slice(seen).find((m) => m.topic === configOf('living-room') && m.payload !== '')!.payload) as Record<
    string,
    any
  >;
  t.equal(afterRestart.unique_id, sensor.unique_id, 'the same unique_id');
  t.same(afterRestart.device.identifiers, sensor.device.identifiers, 'the same device');

  // A camera taken out of the configuration: its config and its state are emptied (retained).
  bus.emit('cameraRemoved', { camera: 'hallway' });
  t.ok(
    await until(() => sub.messages.some((m) => m.topic === configOf('hallway') && m.payload === '' && sub.messages.indexOf(m) >= seen), 10_000),
    'an empty retained config: Home Assistant removes the entity',
  );
  t.ok(
    await until(() => sub.messages.some((m) => m.topic === `${prefix}/hallway/actors` && m.payload === '' && sub.messages.indexOf(m) >= seen), 10_000),
    'and its retained state is cleared',
  );
  t.same(
    (await retained(url, `${discovery}/sensor/${prefix}/+/config`)).map((m) => m.topic),
    [configOf('living-room')],
    'the removed camera is gone from the broker',
  );
  t.same(await retained(url, `${prefix}/hallway/actors`), []);
}

for (const target of brokerUrls()) {
  t.test(`Home Assistant discovery on ${target === 'embedded' ? 'a broker the test starts' : target}`, async (t) => {
    let url = target;
    if (target === 'embedded') {
      const { broker, url: local } = await startBroker();
      t.teardown(() => broker.stop());
      url = local;
    }
    await discoveryAgainst(t, url);
  });
}

t.test('without mqtt.homeAssistant, nothing is announced', async (t) => {
  const { broker, url } = await startBroker();
  t.teardown(() => broker.stop());
  const sub = await recorder(url, 'homeassistant');
  t.teardown(() => sub.client.endAsync());
  const bus = new EventBus(silentLogger());
  const publisher = new MqttPublisher(url, loadConfig({ env: { ACTOR_RECOGNIZER_MQTT_TOPIC_PREFIX: 'plain' } }).mqtt, bus, silentLogger());
  publisher.start();
  t.teardown(() => publisher.stop());
  t.ok(await until(() => publisher.stats.connected, 5000));
  bus.emit('actors', { camera: 'cam', actors: [], at: new Date().toISOString() });
  await new Promise((r) => setTimeout(r, 500));
  t.same(sub.messages, [], 'no discovery message');
});
