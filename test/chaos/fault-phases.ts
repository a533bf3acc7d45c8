// Faults around the daemon: ffmpeg killed, the broker stopped and started, broken bundles dropped into the store, a soak.
import { mkdtemp, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connectAsync } from 'mqtt';
import { makeBundle, type Breakage } from '../helpers/bundles.js';
import { percentile, send, sleep, type Tally } from './client.js';
import { samplePhoto } from './input-phases.js';
import { SECRETS, type Target } from './target.js';

const KEY = { 'x-api-key': SECRETS.apiKey };

interface CameraView {
  id: string;
  state: string;
  framesIn: number;
  framesProcessed: number;
  framesDropped: number;
  restarts: number;
}

export async function cameras(target: Target): Promise<CameraView[]> {
  const answer = await send(target.port, { path: '/v1/cameras', headers: KEY, timeoutMs: 5000 });
  return answer.status === 200 ? (JSON.parse(answer.body) as { cameras: CameraView[] }).cameras : [];
}

/** `kills` SIGKILLs of a camera's ffmpeg, one camera then the other: seconds until that camera reads frames again. */
export async function ffmpegKills(target: Target, kills: number, limitMs: number): Promise<{ recovered: number; kills: number; seconds: number[] }> {
  const seconds: number[] = [];
  for (let k = 0; k < kills; k++) {
    const before = await cameras(target);
    const pids = target.ffmpegPids();
    if (pids.length === 0) {
      await sleep(500);
      continue;
    }
    const victim = pids[k % pids.length]!;
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    // Which camera it was is told by the restart counter that moves.
    const deadline = killedAt + limitMs;
    let recoveredAt: number | undefined;
    while (Date.now() < deadline && recoveredAt === undefined) {
      await sleep(100);
      const now = await cameras(target);
      const moved = now.find((c) => c.restarts > (before.find((b) => b.id === c.id)?.restarts ?? 0));
      if (moved && moved.state === 'running' && moved.framesIn > (before.find((b) => b.id === moved.id)?.framesIn ?? 0)) recoveredAt = Date.now();
    }
    if (recoveredAt !== undefined) seconds.push((recoveredAt - killedAt) / 1000);
    await sleep(300);
  }
  return { recovered: seconds.length, kills, seconds };
}

/** Stops the broker for `outageMs`, starts it again: how long until the daemon says `online` on it, and what was dropped. */
export async function brokerOutage(target: Target, outageMs: number): Promise<{ reconnectSeconds: number | null; dropped: number }> {
  const status = async () =>
    JSON.parse((await send(target.port, { path: '/v1/status', headers: KEY })).body) as { mqtt: { connected: boolean; dropped: number } | null };
  const droppedBefore = (await status()).mqtt?.dropped ?? 0;
  await target.stopBroker();
  await sleep(outageMs);
  await target.startBroker();
  const back = Date.now();
  // The restarted broker has lost its retained messages: an `online` on it comes from the reconnect.
  const client = await connectAsync(`mqtt://127.0.0.1:${target.brokerPort}`, { username: 'chaos', password: SECRETS.brokerPassword, reconnectPeriod: 0 });
  let onlineAt: number | undefined;
  client.on('message', (_topic, payload) => {
    if (payload.toString() === 'online') onlineAt ??= Date.now();
  });
  await client.subscribeAsync(`${target.topicPrefix}/status`, { qos: 1 });
  const deadline = back + 20_000;
  while (onlineAt === undefined && Date.now() < deadline) await sleep(100);
  await client.endAsync();
  return { reconnectSeconds: onlineAt === undefined ? null : (onlineAt - back) / 1000, dropped: ((await status()).mqtt?.dropped ?? 0) - droppedBefore };
}

const BREAKAGES: (Breakage | 'manifest-garbage' | 'missing-file')[] = [
  'tampered',
  'truncated',
  'extra-actor',
  'wrong-reference',
  'manifest-garbage',
  'missing-file',
];

/**
 * Two clients send photos back to back while `count` broken bundles arrive in the store (each
 * written aside and renamed in, as a copy finishes): every one refused, no request failed, the
 * running version unchanged.
 */
export async function brokenBundles(
  target: Target,
  tally: Tally,
  count: number,
): Promise<{ dropped: number; refused: number; requests: number; failed: number; versionKept: boolean }> {
  const models = async () =>
    JSON.parse((await send(target.port, { path: '/v1/models', headers: KEY })).body) as { running: { version: string } | null; refusals: unknown[] };
  const start = await models();
  const photo = await samplePhoto();
  let stop = false;
  let requests = 0;
  let failed = 0;
  const client = async () => {
    while (!stop) {
      const answer = tally.record(
        await send(target.port, { method: 'POST', path: '/v1/recognize', body: photo, headers: { ...KEY, 'content-type': 'image/jpeg' } }),
        'recognize during model faults',
      );
      requests++;
      if (answer.status !== 200 && !(answer.status === 503 && answer.headers['retry-after'])) failed++;
    }
  };
  const clients = [client(), client()];
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'ar-chaos-bundles-'));
  for (let i = 0; i < count; i++) {
    const kind = BREAKAGES[i % BREAKAGES.length]!;
    const version = `chaos-broken-${i}-${kind}`;
    const folder = path.join(scratch, version);
    await makeBundle(folder, { version, broken: kind === 'manifest-garbage' || kind === 'missing-file' ? undefined : kind });
    if (kind === 'manifest-garbage') await writeFile(path.join(folder, 'manifest.json'), '{"format": "actor-recognizer/bundle@1", "version": ');
    if (kind === 'missing-file') await writeFile(path.join(folder, 'head.onnx'), Buffer.alloc(0));
    await rename(folder, path.join(target.storeDir, version));
    await sleep(300);
  }
  // The folder watch sees them at once; the rescan every 10 s catches any it missed.
  const deadline = Date.now() + 15_000;
  let now = await models();
  while (Date.now() < deadline && now.refusals.length < Math.min(20, start.refusals.length + count)) {
    await sleep(250);
    now = await models();
  }
  stop = true;
  await Promise.all(clients);
  return {
    dropped: count,
    refused: Math.min(now.refusals.length - start.refusals.length, count),
    requests,
    failed,
    versionKept: now.running?.version === start.running?.version,
  };
}

/** Both cameras for `ms` with a light request load: memory, descriptors and frames over the time. */
export async function soak(
  target: Target,
  tally: Tally,
  ms: number,
): Promise<{ rss: number[]; fds: number[]; frames: { in: number; processed: number; dropped: number }; running: number; latencyP95Ms: number }> {
  const photo = await samplePhoto();
  const rss: number[] = [];
  const fds: number[] = [];
  const latencies: number[] = [];
  const before = await cameras(target);
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const m = target.memory();
    rss.push(m.rssMiB);
    fds.push(m.fds);
    const answer = tally.record(
      await send(target.port, { method: 'POST', path: '/v1/recognize', body: photo, headers: { ...KEY, 'content-type': 'image/jpeg' } }),
      'recognize during soak',
    );
    if (answer.status === 200) latencies.push(answer.ms);
    tally.record(await send(target.port, { path: '/v1/status', headers: KEY }), 'status during soak');
    await sleep(1000);
  }
  const after = await cameras(target);
  const delta = (pick: (c: CameraView) => number) =>
    after.reduce((sum, c) => sum + pick(c) - pick(before.find((b) => b.id === c.id) ?? { ...c, framesIn: 0, framesProcessed: 0, framesDropped: 0 }), 0);
  return {
    rss,
    fds,
    frames: { in: delta((c) => c.framesIn), processed: delta((c) => c.framesProcessed), dropped: delta((c) => c.framesDropped) },
    running: after.filter((c) => c.state === 'running').length,
    latencyP95Ms: percentile(latencies, 95),
  };
}
