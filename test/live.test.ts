// The live daemon end to end: file cameras, MQTT events, REST, SSE, metrics, a broken camera, broker restart.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { loadConfig } from '../src/config/load.js';
import { Daemon } from '../src/daemon.js';
import { silentLogger } from '../src/logger.js';
import { until } from './helpers/ingest.js';
import { brokerUrls, recorder, startBroker } from './helpers/mqtt.js';
import { AOC, aocModel, video, videosMissing } from './helpers/videos.js';

const missing = videosMissing();

for (const target of brokerUrls()) {
  t.test(`a live file camera names her over MQTT (${target === 'embedded' ? 'a broker the test starts' : target})`, { skip: missing }, async (t) => {
    const model = await aocModel();
    const own = target === 'embedded' ? await startBroker() : undefined;
    t.teardown(() => own?.broker.stop());
    const url = own?.url ?? target;
    const prefix = `ar-test-${process.pid}-${Date.now()}`;
    const cameras = [
      { id: 'aoc', url: video('talking-head-aoc-b.mp4'), loop: true, fps: 5, maxWidth: 640 },
      { id: 'broken', url: 'rtsp://admin:hunter2@127.0.0.1:1/x', fps: 5 },
    ];
    const config = loadConfig({
      env: {
        ACTOR_RECOGNIZER_API_PORT: '0',
        ACTOR_RECOGNIZER_MODEL_DIR: model,
        ACTOR_RECOGNIZER_MQTT_URL: url,
        ACTOR_RECOGNIZER_MQTT_TOPIC_PREFIX: prefix,
        ACTOR_RECOGNIZER_CAMERAS: JSON.stringify(cameras),
        ACTOR_RECOGNIZER_INGEST_MAX_RESTARTS: '2',
        ACTOR_RECOGNIZER_INGEST_BACKOFF_INITIAL_MS: '100',
      },
    });
    const sub = await recorder(url, prefix);
    t.teardown(() => sub.client.endAsync());
    const daemon = new Daemon(config, silentLogger());
    t.teardown(() => daemon.stop());
    await daemon.start();
    const base = `http://127.0.0.1:${daemon.address()!.port}`;
    // Subscribed before the first frame is analysed, so the first events reach this stream too.
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

    // Known at her first announcement: one `appeared` event with her name (a face named later gets `identified`).
    const identified = await sub.waitFor((m) => m.topic === `${prefix}/aoc/events` && JSON.parse(m.payload).actor === AOC, 60_000);
    t.ok(identified, 'an event naming her on P/aoc/events');
    t.equal(JSON.parse(identified?.payload ?? '{}').type, 'appeared', 'named when she first appears');
    const event = JSON.parse(identified?.payload ?? '{}');
    t.equal(event.actor, AOC);
    t.equal(event.camera, 'aoc');
    // Her track's aggregate clears the threshold the model names tracks at (cosines: their scale is the embedder's).
    const thresholds = (JSON.parse(readFileSync(path.join(model, 'manifest.json'), 'utf8')) as { thresholds: { default: number; track?: number } }).thresholds;
    const bar = Math.max(thresholds.default, thresholds.track ?? 0);
    t.ok(event.confidence >= bar && event.confidence <= 1, `confidence ${event.confidence}, the model's bar ${bar}`);
    t.ok(!Number.isNaN(Date.parse(event.at)), 'at is ISO 8601');
    t.notOk('frameReceivedAt' in event, 'only contract fields');
    t.ok(await sub.waitFor((m) => m.topic === `${prefix}/aoc/actors` && m.payload.includes(AOC), 5000), 'P/aoc/actors names her');
    t.ok(
      sub.messages.some((m) => m.topic === `${prefix}/status` && m.payload === 'online'),
      'status online',
    );
    const modelMsg = sub.messages.find((m) => m.topic === `${prefix}/model`);
    t.match(JSON.parse(modelMsg?.payload ?? '{}'), { actors: [AOC], version: String }, 'P/model');
    t.ok(await until(() => sseText.includes('event: appearance') && sseText.includes(AOC), 5000), 'the same events as server-sent events');

    // The broken camera gives up; the other keeps going.
    const cams = async () =>
      (
        (await (await fetch(`${base}/v1/cameras`)).json()) as {
          cameras: { id: string; state: string; framesProcessed: number; url: string; actors: string[] }[];
        }
      ).cameras;
    let failed = false;
    for (let i = 0; i < 50 && !failed; i++) {
      failed = (await cams()).find((c) => c.id === 'broken')?.state === 'failed';
      if (!failed) await new Promise((r) => setTimeout(r, 200));
    }
    t.ok(failed, 'the broken camera is marked failed');
    const before = (await cams()).find((c) => c.id === 'aoc')!;
    t.equal(before.state, 'running');
    t.same(before.actors, [AOC]);
    t.equal((await cams()).find((c) => c.id === 'broken')!.url, 'rtsp://***@127.0.0.1:1/x', 'credentials redacted');
    // Its state and ffmpeg's own reason reach MQTT too, retained, without the password.
    const state = await sub.waitFor((m) => m.topic === `${prefix}/broken/state` && JSON.parse(m.payload).state === 'failed', 5000);
    t.ok(state, 'P/broken/state says failed');
    t.match(JSON.parse(state?.payload ?? '{}'), { camera: 'broken', reason: /refused|Connection|error/i }, `with the reason: ${state?.payload}`);
    t.notOk(
      sub.messages.some((m) => m.payload.includes('hunter2')),
      'the password is in no MQTT message',
    );
    // A frame takes seven detector passes (the tiles): on a loaded machine, more than a second or two.
    let processed = before.framesProcessed;
    for (const end = Date.now() + 20_000; processed <= before.framesProcessed && Date.now() < end;) {
      await new Promise((r) => setTimeout(r, 500));
      processed = ((await (await fetch(`${base}/v1/cameras/aoc`)).json()) as { framesProcessed: number }).framesProcessed;
    }
    t.ok(processed > before.framesProcessed, `aoc keeps processing (${before.framesProcessed} -> ${processed} frames)`);
    t.equal((await fetch(`${base}/v1/cameras/nope`)).status, 404);
    const snap = await fetch(`${base}/v1/cameras/aoc/snapshot.jpg`);
    t.equal(snap.headers.get('content-type'), 'image/jpeg');
    t.same([...Buffer.from(await snap.arrayBuffer()).subarray(0, 2)], [0xff, 0xd8], 'a JPEG');
    t.equal((await fetch(`${base}/readyz`)).status, 200, 'ready: model loaded, cameras started');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    t.match(metrics, /actor_recognizer_frames_in_total\{camera="aoc"\} \d+/);
    t.match(metrics, /actor_recognizer_frames_dropped_total\{camera="aoc"\} \d+/);
    t.match(metrics, /actor_recognizer_ffmpeg_restarts_total\{camera="broken"\} 2/);
    t.match(metrics, /actor_recognizer_stage_seconds_bucket\{le="[\d.]+",stage="detect"\}/);
    t.match(metrics, /actor_recognizer_mqtt_published_total [1-9]/);
    t.match(metrics, /actor_recognizer_frame_to_publish_seconds_count [1-9]/);
    t.match(metrics, /actor_recognizer_model_info\{version="[^"]+"\} 1/);
    const count = Number(/frame_to_publish_seconds_count (\d+)/.exec(metrics)?.[1]);
    const sum = Number(/frame_to_publish_seconds_sum ([\d.e-]+)/.exec(metrics)?.[1]);
    t.comment(`frame-to-MQTT latency: mean ${((sum / count) * 1000).toFixed(0)} ms over ${count} messages`);

    if (own) {
      // The broker goes away and comes back on the same port: the daemon reconnects and publishes again.
      await own.broker.stop();
      await new Promise((r) => setTimeout(r, 1000));
      const again = await startBroker(own.port);
      t.teardown(() => again.broker.stop());
      const mark = Date.now();
      t.ok(
        await sub.waitFor((m) => m.at > mark && m.topic === `${prefix}/status` && m.payload === 'online', 20_000),
        'online again after the broker restarted',
      );
      t.ok(await sub.waitFor((m) => m.at > mark && m.topic === `${prefix}/aoc/actors` && m.payload.includes(AOC), 5000), 'state republished');
    }
    await reader.cancel().catch(() => undefined);
    await daemon.stop();
  });
}
