// The built daemon with a camera: SIGTERM leaves the retained `offline` and no ffmpeg behind.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { MAIN } from './helpers/cli.js';
import { alive, syntheticVideo, until } from './helpers/ingest.js';
import { recorder, startBroker } from './helpers/mqtt.js';

function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)])
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

t.test('SIGTERM: exit 0, retained offline, no ffmpeg left', async (t) => {
  const { broker, url } = await startBroker();
  t.teardown(() => broker.stop());
  const file = await syntheticVideo(640, 360, 2);
  const prefix = `proc-${process.pid}`;
  const sub = await recorder(url, prefix);
  t.teardown(() => sub.client.endAsync());
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      ACTOR_RECOGNIZER_API_PORT: '0',
      ACTOR_RECOGNIZER_MODEL_DIR: await mkdtemp(path.join(os.tmpdir(), 'ar-nomodel-')),
      ACTOR_RECOGNIZER_MQTT_URL: url,
      ACTOR_RECOGNIZER_MQTT_TOPIC_PREFIX: prefix,
      ACTOR_RECOGNIZER_CAMERAS: JSON.stringify([{ id: 'pattern', url: file, loop: true, fps: 2 }]),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.resume();
  child.stderr.resume();
  t.ok(await sub.waitFor((m) => m.topic === `${prefix}/status` && m.payload === 'online', 60_000), 'online');
  t.ok(await until(() => childPids(child.pid!).length > 0, 10_000), 'ffmpeg running');
  const ffmpegs = childPids(child.pid!);
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = await exited;
  t.equal(code, 0, 'exit 0');
  t.ok(await sub.waitFor((m) => m.topic === `${prefix}/status` && m.payload === 'offline', 5000), 'offline published');
  t.notOk(ffmpegs.some(alive), 'no ffmpeg survives the daemon');
  const late = await recorder(url, prefix);
  t.teardown(() => late.client.endAsync());
  t.ok(
    await late.waitFor((m) => m.topic === `${prefix}/status` && m.payload === 'offline' && m.retain, 5000),
    'a client arriving later reads the retained offline',
  );
});
