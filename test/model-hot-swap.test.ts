// Models from a real S3-compatible server: publish, hot-swap under load, refusals, outage, rollback.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import t from 'tap';
import { loadConfig } from '../src/config/load.js';
import { Daemon } from '../src/daemon.js';
import { silentLogger } from '../src/logger.js';
import { publishBundle } from '../src/cli/publish.js';
import { createS3Client } from '../src/models/s3-source.js';
import { decodeImage } from '../src/vision/decode.js';
import { makeBundle, randomUnit, type Breakage } from './helpers/bundles.js';
import { cliJson } from './helpers/cli.js';
import { datasetsMissing, faces } from './helpers/datasets.js';
import { testPipeline } from './helpers/models.js';
import { BUCKET, LoopbackS3, S3_ENV, tmpdir, useS3Credentials } from './helpers/s3.js';

const URI = `s3://${BUCKET}/actors`;
const missing = datasetsMissing();

interface Answer {
  start: number;
  end: number;
  status: number;
  version: string | null;
  actor: string | null | undefined;
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 30_000, state?: () => Promise<unknown>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    // Say where things stood, so that a timeout on a loaded machine can be told from a real hang.
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${state ? `: ${JSON.stringify(await state())}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The photo the client sends, and the embedding a bundle's first actor is centred on. */
async function probe(): Promise<{ image: Buffer; type: string; centre: Float32Array; actor: string | undefined }> {
  if (missing) {
    // No face in it: answers still carry the model's version, which is what the swap is about.
    const image = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#888' } })
      .png()
      .toBuffer();
    return { image, type: 'image/png', centre: randomUnit(1), actor: undefined };
  }
  const dir = faces('five-celebrities', 'val', 'Madonna');
  const image = await readFile(path.join(dir, (await readdir(dir)).sort()[0]!));
  const observed = await (await testPipeline()).analyze(await decodeImage(image, { maxPixels: 40_000_000 }), { fallback: 'retry' });
  return { image, type: 'image/jpeg', centre: observed[0]!.embedding, actor: 'Madonna' };
}

/** Uploads a bundle as it is (no local check, unlike `publish`), the pointer last. */
async function uploadRaw(endpoint: string, dir: string, version: string): Promise<void> {
  const s3 = await createS3Client({ endpoint, forcePathStyle: true });
  for (const name of (await readdir(dir)).sort((a, b) => Number(a === 'manifest.json') - Number(b === 'manifest.json'))) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `actors/${version}/${name}`, Body: await readFile(path.join(dir, name)) }));
  }
  const pointer = { version, manifest: `actors/${version}/manifest.json`, publishedAt: new Date().toISOString() };
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'actors/latest.json', Body: JSON.stringify(pointer) }));
  s3.destroy();
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const summary = (values: number[]) =>
  `n=${values.length} p50=${percentile(values, 50).toFixed(0)} ms p95=${percentile(values, 95).toFixed(0)} ms max=${Math.max(...values).toFixed(0)} ms`;

t.test('bundles published to S3 are verified and swapped in without failing a request', async (t) => {
  if (missing) t.comment(`${missing}; a face-free image is sent instead, so faces are not named`);
  useS3Credentials();
  const s3 = new LoopbackS3();
  await s3.start();
  const storeDir = await tmpdir('ar-store-');
  const config = loadConfig({
    env: {
      ACTOR_RECOGNIZER_API_PORT: '0',
      ACTOR_RECOGNIZER_MQTT_PORT: '0',
      ACTOR_RECOGNIZER_MODEL_DIR: storeDir,
      ACTOR_RECOGNIZER_MODEL_S3_URI: URI,
      ACTOR_RECOGNIZER_MODEL_S3_ENDPOINT: s3.endpoint,
      ACTOR_RECOGNIZER_MODEL_S3_FORCE_PATH_STYLE: 'true',
      ACTOR_RECOGNIZER_MODEL_S3_POLL_SECONDS: '1',
    },
  });
  const daemon = new Daemon(config, silentLogger());
  t.teardown(async () => {
    await daemon.stop();
    await s3.stop();
  });
  await daemon.start();
  const base = `http://127.0.0.1:${daemon.address()!.port}`;
  const get = async (route: string) => (await fetch(base + route)).json() as Promise<Record<string, any>>;
  const post = (route: string, body?: unknown) =>
    fetch(base + route, { method: 'POST', ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  const { image, type, centre, actor } = await probe();
  const recognize = async (): Promise<Answer> => {
    const start = Date.now();
    const res = await fetch(`${base}/v1/recognize`, { method: 'POST', body: new Uint8Array(image), headers: { 'content-type': type } });
    const body = (await res.json()) as { model?: { version: string | null }; faces?: { actor: string | null }[] };
    return { start, end: Date.now(), status: res.status, version: body.model?.version ?? null, actor: body.faces?.[0]?.actor };
  };
  const bundle = async (version: string, broken?: Breakage) =>
    makeBundle(await tmpdir('ar-bundle-'), {
      version,
      broken,
      centres: [centre, randomUnit(2), randomUnit(3)],
      actors: ['Madonna', 'Alan Turing', 'Grace Hopper'],
    });

  // Each subtest goes on from where the one before left the daemon and the bucket.
  await t.test('publish: v1 runs and answers', async (t) => {
    t.equal((await get('/v1/models')).s3.state, 'empty', 'nothing published yet');
    const published = await cliJson(['publish', '--model', await bundle('v1'), '--s3', URI, '--endpoint', s3.endpoint], S3_ENV);
    t.same(published, { version: 'v1', uri: `${URI}/v1/` }, 'publish prints the version and where it went');
    await until('v1 to run', async () => (await get('/v1/model')).version === 'v1');
    const first = await recognize();
    t.match(first, { status: 200, version: 'v1' });
    if (actor) t.equal(first.actor, actor, 'the real photo is named by v1');
  });

  await t.test('two clients send requests back to back while v2 is published: none fails, each switches once', async (t) => {
    let stop = false;
    const lists: Answer[][] = [[], []];
    const clients = lists.map(async (answers) => {
      while (!stop) answers.push(await recognize());
      return answers;
    });
    // A few answers from v1 on each client before the upload, and a few from v2 after the swap.
    await until('answers from v1 on each client', async () => lists.every((list) => list.length >= 5));
    const uploadStart = Date.now();
    const v2 = await bundle('v2');
    await publishBundle(v2, URI, { endpoint: s3.endpoint, forcePathStyle: true });
    const uploaded = Date.now();
    await until('answers from v2', async () => (await get('/v1/model')).version === 'v2');
    await until('answers from v2 on each client', async () => lists.every((list) => list.filter((a) => a.version === 'v2').length >= 3));
    stop = true;
    const perClient = await Promise.all(clients);
    const answers = perClient.flat().sort((a, b) => a.end - b.end);
    t.equal(answers.filter((a) => a.status !== 200).length, 0, `no request failed (${answers.length} sent during the swap)`);
    for (const list of perClient) {
      const firstNew = list.findIndex((a) => a.version === 'v2');
      t.ok(firstNew > 0, 'each client saw v1, then v2');
      t.ok(
        list.slice(firstNew).every((a) => a.version === 'v2') && list.slice(0, firstNew).every((a) => a.version === 'v1'),
        'answers switch from v1 to v2 once, never back',
      );
    }
    if (actor)
      t.ok(
        answers.every((a) => a.actor === actor),
        'every answer named the face, on either version',
      );
    const firstV2 = answers.find((a) => a.version === 'v2')!;
    const before = answers.filter((a) => a.end < uploadStart).map((a) => a.end - a.start);
    const during = answers.filter((a) => a.end >= uploaded && a.start <= firstV2.end + 500).map((a) => a.end - a.start);
    t.comment(
      `swap: ${firstV2.end - uploaded} ms from the pointer written to the first answer on v2 (${firstV2.end - uploadStart} ms from the upload's start; poll every 1 s)`,
    );
    const swappedAt = Date.parse((await get('/v1/model')).loadedAt);
    t.comment(
      `of which: pointer written -> v2 verified and swapped in ${swappedAt - uploaded} ms (includes waiting for the next poll), swap -> first answer on v2 ${firstV2.end - swappedAt} ms`,
    );
    t.comment(
      `v2 fetched from S3 in ${(await get('/v1/models')).s3.lastDownload.downloadMs} ms, verified and swapped in ${(await get('/v1/models')).s3.lastDownload.installMs} ms`,
    );
    t.comment(`latency before the swap: ${summary(before)}; during it: ${summary(during)}`);
  });

  await t.test('tampered, truncated, extra-actor and unreadable-manifest bundles are refused; v2 keeps serving', async (t) => {
    for (const broken of ['tampered', 'truncated', 'extra-actor', 'manifest'] as const) {
      const dir = await bundle(`bad-${broken}`, broken === 'manifest' ? undefined : broken);
      if (broken === 'manifest') await writeFile(path.join(dir, 'manifest.json'), '{"version": "bad-manifest", oops');
      await uploadRaw(s3.endpoint, dir, `bad-${broken}`);
      const refusal = await until(
        `bad-${broken} to be refused`,
        async () => ((await get('/v1/models')).refusals as { version: string; code: string; reason: string }[]).find((r) => r.version === `bad-${broken}`),
        30_000,
        async () => {
          const models = await get('/v1/models');
          return { s3: models.s3, refusals: models.refusals, running: models.running };
        },
      );
      t.comment(`${broken}: ${refusal.code}: ${refusal.reason}`);
      t.equal((await get('/v1/model')).version, 'v2', `${broken}: refused, v2 keeps serving`);
      t.match(await recognize(), { status: 200, version: 'v2' });
    }
  });

  await t.test('an S3 outage is reported while v2 keeps serving; v3 runs once S3 is back', async (t) => {
    await s3.stop();
    const down = await until('the outage to be reported', async () => {
      const status = (await get('/v1/models')).s3;
      return status.state === 'unreachable' && status;
    });
    t.ok(down.failures >= 1 && down.lastError, `the outage is reported: ${down.lastError}`);
    t.match(await recognize(), { status: 200, version: 'v2' }, 'S3 down: v2 keeps serving');
    // The outage outlasts another poll, so that the daemon is backing off when S3 returns.
    await until('another failed poll', async () => (await get('/v1/models')).s3.failures > down.failures);
    await s3.start();
    const back = Date.now();
    await publishBundle(await bundle('v3'), URI, { endpoint: s3.endpoint, forcePathStyle: true });
    await until('v3 after the outage', async () => (await get('/v1/model')).version === 'v3');
    t.comment(`after the outage: v3 running ${Date.now() - back} ms after S3 came back`);
    t.equal((await get('/v1/models')).s3.state, 'ok');
  });

  await t.test('rollback to v2 by the API; a reload keeps it; an unknown version is 404', async (t) => {
    const rollback = await post('/v1/model/activate', { version: 'v2' });
    t.equal(rollback.status, 200);
    t.same(await rollback.json(), { version: 'v2', changed: true });
    t.match(await get('/v1/model'), { version: 'v2', actors: ['Madonna', 'Alan Turing', 'Grace Hopper'] });
    t.match(await recognize(), { status: 200, version: 'v2' }, 'answers come from the rolled-back version');
    const reload = await post('/v1/model/reload');
    t.equal(reload.status, 200);
    t.equal((await get('/v1/model')).version, 'v2', 'a reload with nothing new keeps the rollback');
    const models = await get('/v1/models');
    t.same(models.held.map((h: { version: string }) => h.version).sort(), ['v1', 'v2', 'v3']);
    t.equal(models.running.version, 'v2');
    const unknown = await post('/v1/model/activate', { version: 'v9' });
    t.equal(unknown.status, 404);
    t.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'MODEL_NOT_FOUND');
  });

  await t.test('a restart comes back on the rolled-back version, and the unchanged pointer does not undo it', async (t) => {
    await daemon.stop();
    const again = new Daemon(config, silentLogger());
    t.teardown(() => again.stop());
    await again.start();
    const url = `http://127.0.0.1:${again.address()!.port}`;
    const lastCheckAt = async () => ((await (await fetch(`${url}/v1/models`)).json()) as { s3: { lastCheckAt: string | null } }).s3.lastCheckAt;
    const firstPoll = await until('a poll after the restart', lastCheckAt);
    // Polls run one at a time: once the next has started, the first one's answer has been acted on.
    await until('the poll after that', async () => {
      const at = await lastCheckAt();
      return at !== firstPoll && at;
    });
    t.equal(((await (await fetch(`${url}/v1/model`)).json()) as { version: string }).version, 'v2', 'after a restart the rollback holds');
  });
});
