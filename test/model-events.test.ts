// Model changes reach every output through the bus: a swap is on P/model at once, a refusal on MQTT and SSE.
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../src/config/load.js';
import { Daemon } from '../src/daemon.js';
import { makeBundle } from './helpers/bundles.js';
import { capturingLogger, until } from './helpers/ingest.js';
import { recorder, startBroker, type Received } from './helpers/mqtt.js';
import { tmpdir } from './helpers/s3.js';

t.test('a swap reaches P/model within 100 ms; a refusal reaches MQTT and the server-sent events', async (t) => {
  const dir = await tmpdir('ar-store-');
  await makeBundle(path.join(dir, 'v1'), { version: 'v1' });
  const { broker, url } = await startBroker();
  t.teardown(() => broker.stop());
  const prefix = `ar-model-events-${process.pid}`;
  const sub = await recorder(url, prefix);
  t.teardown(() => sub.client.endAsync());
  const { log, lines } = capturingLogger();
  const config = loadConfig({
    env: { ACTOR_RECOGNIZER_API_PORT: '0', ACTOR_RECOGNIZER_MODEL_DIR: dir, ACTOR_RECOGNIZER_MQTT_URL: url, ACTOR_RECOGNIZER_MQTT_TOPIC_PREFIX: prefix },
  });
  const daemon = new Daemon(config, log);
  t.teardown(() => daemon.stop());
  await daemon.start();
  const base = `http://127.0.0.1:${daemon.address()!.port}`;

  const sse = await fetch(`${base}/v1/events`);
  const reader = sse.body!.getReader();
  let sseText = '';
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      sseText += Buffer.from(value!).toString();
    }
  })();
  const names = (version: string) => (m: Received) => m.topic === `${prefix}/model` && JSON.parse(m.payload).version === version;
  const payloadOf = (version: string) => sub.messages.find(names(version));
  t.ok(await sub.waitFor(names('v1'), 5000), 'the running model is on P/model from the start');
  t.match(JSON.parse(payloadOf('v1')!.payload), { version: 'v1', actors: ['Ada Lovelace', 'Alan Turing', 'Grace Hopper'], loadedAt: String, source: String });

  // A swap: the moment is the store's own log line, the arrival the subscriber's clock (one process, one clock).
  await makeBundle(path.join(dir, 'v2'), { version: 'v2' });
  t.equal((await fetch(`${base}/v1/model/reload`, { method: 'POST' })).status, 200, 'v2 verifies');
  const arrived = await sub.waitFor(names('v2'), 5000);
  t.ok(arrived, 'v2 on P/model');
  const swapped = lines
    .map((l) => JSON.parse(l) as { msg: string; version?: string; time: number })
    .find((l) => l.msg === 'actor model swapped in' && l.version === 'v2');
  t.ok(swapped, 'the store logged the swap');
  const latency = arrived!.at - swapped!.time;
  t.ok(latency <= 100, `P/model ${latency} ms after the swap (the poll it replaces took up to 2 s)`);
  t.equal(arrived!.retain, false, 'a live message to a subscriber already there (retained copies are for those who come later)');
  t.ok(await until(() => sseText.includes('event: model\n') && sseText.includes('"version":"v2"'), 2000), 'the swap as a server-sent event');

  // A refusal: a truncated graph. The running model stays, and every output says why.
  await makeBundle(path.join(dir, 'v3'), { version: 'v3', broken: 'truncated' });
  // A rescan that finds only refused bundles answers with what still runs; the refusal is the event's news.
  t.match(await (await fetch(`${base}/v1/model/reload`, { method: 'POST' })).json(), { version: 'v2', changed: false }, 'v3 is refused');
  const refused = await sub.waitFor((m) => m.topic === `${prefix}/model/refused`, 5000);
  t.ok(refused, 'the refusal on P/model/refused');
  const refusal = JSON.parse(refused?.payload ?? '{}') as Record<string, unknown>;
  t.match(refusal, { version: 'v3', running: 'v2', code: String, reason: String, source: String, at: String });
  t.equal(refused?.retain, false, 'an event, not retained state');
  t.ok(await until(() => sseText.includes('event: modelRefused\n') && sseText.includes('"version":"v3"'), 2000), 'the refusal as a server-sent event');
  t.equal(payloadOf('v3'), undefined, 'P/model never names the refused version');
  t.equal(((await (await fetch(`${base}/v1/model`)).json()) as { version: string }).version, 'v2', 'v2 keeps serving');
});
