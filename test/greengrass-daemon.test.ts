// The built daemon as a Greengrass component: started with the nucleus's variables against a fake nucleus.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { ConfigReport } from '../src/publish/greengrass-component.js';
import { MAIN } from './helpers/cli.js';
import { FakeNucleus } from './helpers/fake-nucleus.js';
import { until } from './helpers/ingest.js';
import { recorder, startBroker } from './helpers/mqtt.js';

t.test('as a component: configuration over IPC, RUNNING, live updates, OTA answered, offline on SIGTERM', async (t) => {
  const { broker, url: mqttUrl } = await startBroker();
  t.teardown(() => broker.stop());
  const nucleus = await FakeNucleus.start({
    configuration: {
      mqtt: { url: mqttUrl, topicPrefix: 'gg-before' },
      model: { dir: await mkdtemp(path.join(os.tmpdir(), 'ar-nomodel-')) },
      track: { minConfidence: 0.3 },
      accessControl: { 'aws.greengrass.ipc.mqttproxy': {} },
    },
  });
  t.teardown(() => nucleus.close());
  const child = spawn(process.execPath, [MAIN, 'start'], {
    env: { ...process.env, ...nucleus.env(), ACTOR_RECOGNIZER_API_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  const lines: string[] = [];
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr.resume();
  await nucleus.waitFor(() => nucleus.states.includes('RUNNING'), 'RUNNING', 120_000);
  const listening = lines.map((l) => JSON.parse(l) as { msg?: string; url?: string; config?: { track?: { minConfidence?: number } } });
  const api = listening.find((l) => l.msg === 'REST API listening')?.url;
  t.ok(api, 'the API listens before RUNNING is reported');
  t.equal(listening.find((l) => l.msg === 'starting')?.config?.track?.minConfidence, 0.3, 'the component configuration is in force');
  t.equal((await fetch(`${api}/healthz`)).status, 200);
  t.ok(
    nucleus.iotCore.some((p) => p.topic === 'actor-recognizer/test-thing/status' && JSON.parse(p.payload).status === 'online'),
    'online on IoT Core',
  );
  await nucleus.waitFor(() => nucleus.local.some((p) => p.topic === 'actor-recognizer/model'), 'the running model on local pub/sub');

  // One deployment: a camera added, new thresholds and MQTT topics, and a key that needs a restart.
  const after = await recorder(mqttUrl, 'gg-after');
  t.teardown(() => after.client.endAsync());
  // The camera need not play (CI has ffmpeg, this test need not): it is enough that it is started.
  const video = path.join(os.tmpdir(), 'ar-gg-no-such-video.mp4');
  nucleus.updateConfiguration({
    cameras: [{ id: 'added', url: video, fps: 2 }],
    track: { minConfidence: 0.6 },
    mqtt: { topicPrefix: 'gg-after' },
    api: { host: '0.0.0.0' },
  });
  const report = await nucleus.waitFor(
    () => nucleus.local.find((p) => p.topic === 'actor-recognizer/config')?.message as ConfigReport | undefined,
    'the configuration report',
  );
  t.same(report.applied.sort(), ['cameras', 'mqtt.topicPrefix', 'track.minConfidence']);
  t.same(report.restartRequired, ['api.host']);
  t.ok(
    lines.some((l) => l.includes('take effect only after the component restarts') && l.includes('api.host')),
    'logged',
  );
  const { cameras } = (await (await fetch(`${api}/v1/cameras`)).json()) as { cameras: Array<{ id: string }> };
  t.same(
    cameras.map((c) => c.id),
    ['added'],
    'the camera is started without a restart',
  );
  t.ok(await after.waitFor((m) => m.topic === 'gg-after/status' && m.payload === 'online', 10_000), 'MQTT republished under the new prefix');
  await nucleus.waitFor(() => nucleus.iotCore.some((p) => p.topic === 'actor-recognizer/test-thing/added/state'), "the new camera's state on IoT Core");

  nucleus.announceUpdate('deployment-7');
  const answer = await nucleus.waitFor(() => nucleus.deferrals.find((d) => d.deploymentId === 'deployment-7'), 'the answer to the update');
  t.equal(answer.recheckAfterMs, 0, 'no swap in flight: the update proceeds');

  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = await exited;
  t.equal(code, 0, 'exit 0');
  t.ok(
    await until(() => nucleus.iotCore.some((p) => p.topic === 'actor-recognizer/test-thing/status' && JSON.parse(p.payload).status === 'offline'), 5000),
    'offline on IoT Core',
  );
});
