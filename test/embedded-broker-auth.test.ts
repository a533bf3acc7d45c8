// The embedded broker applies mqtt.username and mqtt.password: anonymous and wrong clients are refused.
import { connectAsync } from 'mqtt';
import t from 'tap';
import { loadConfig } from '../src/config/load.js';
import { EventBus } from '../src/events/event-bus.js';
import { silentLogger } from '../src/logger.js';
import { startLocalBroker } from '../src/publish/embedded-broker.js';
import { MqttPublisher } from '../src/publish/mqtt-publisher.js';
import { freePort, until } from './helpers/ingest.js';

/** Whether a client with these credentials is let in. */
async function admitted(url: string, auth: { username?: string; password?: string }): Promise<boolean> {
  try {
    const client = await connectAsync(url, { ...auth, reconnectPeriod: 0, connectTimeout: 3000 });
    await client.endAsync();
    return true;
  } catch {
    return false;
  }
}

t.test("the embedded broker applies mqtt.username and mqtt.password, and the daemon's own client gets in", async (t) => {
  const port = await freePort();
  const config = loadConfig({
    env: {
      ACTOR_RECOGNIZER_MQTT_PORT: String(port),
      ACTOR_RECOGNIZER_MQTT_USERNAME: 'recognizer',
      ACTOR_RECOGNIZER_MQTT_PASSWORD: 'change-me-now',
      ACTOR_RECOGNIZER_MQTT_TOPIC_PREFIX: 'auth',
    },
  });
  // As the daemon does with mqtt.url unset: the embedded broker, and its own publisher with mqtt's credentials.
  const local = await startLocalBroker(config.mqtt, silentLogger());
  t.teardown(() => local.broker?.stop());
  const publisher = new MqttPublisher(local.url, config.mqtt, new EventBus(silentLogger()), silentLogger());
  t.teardown(() => publisher.stop());
  publisher.start();
  const url = `mqtt://127.0.0.1:${port}`;
  t.equal(local.url, url, 'the embedded broker runs');
  t.ok(await until(() => publisher.stats.connected === true, 5000), "the daemon's own client connected with the credentials");
  t.notOk(await admitted(url, {}), 'an anonymous client is refused');
  t.notOk(await admitted(url, { username: 'recognizer', password: 'guess' }), 'a wrong password is refused');
  t.notOk(await admitted(url, { username: 'someone', password: 'change-me-now' }), 'a wrong user name is refused');
  t.ok(await admitted(url, { username: 'recognizer', password: 'change-me-now' }), 'the configured pair is let in');
});
