// The model store on disk: verified swaps that drain the old session, refusals, rollback, pruning, watching.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { silentLogger } from '../src/logger.js';
import { FolderWatcher } from '../src/models/model-service.js';
import { ModelService } from '../src/models/model-service.js';
import { EventBus } from '../src/events/event-bus.js';
import { ModelStore, type ModelEvent } from '../src/models/model-store.js';
import { makeBundle, randomUnit, type Breakage } from './helpers/bundles.js';
import { embedderSpec } from '../src/vision/embedder.js';
import { tmpdir } from './helpers/s3.js';

function newStore(dir: string, keep = 3) {
  return new ModelStore(silentLogger(), { dir, threads: 1, keep, reserveBytes: 0 });
}

/** A bundle written in a scratch folder, then handed to the store as a download would be. */
async function incoming(store: ModelStore, version: string, broken?: Breakage) {
  const folder = path.join(store.dir, '.incoming', `${version}-test`);
  await makeBundle(folder, { version, broken });
  return store.install(folder, `test:${version}`);
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('a bundle made for another embedder is refused with the reason, and the running one keeps serving', async (t) => {
  const dir = await tmpdir('ar-store-');
  await makeBundle(path.join(dir, 'v1'), { version: 'v1', embedder: 'face-api-68' });
  const store = new ModelStore(silentLogger(), { dir, threads: 1, keep: 3, reserveBytes: 0, embedder: embedderSpec('face-api-68') });
  t.teardown(() => store.stop());
  await store.start();
  t.equal(store.current()?.version, 'v1');
  const folder = path.join(store.dir, '.incoming', 'v2-test');
  await makeBundle(folder, { version: 'v2', embedder: 'face-api-68-flip' });
  const outcome = await store.install(folder, 'test:v2');
  t.match(outcome, { ok: false, refusal: { version: 'v2', code: 'MODEL_EMBEDDER_MISMATCH' } });
  t.match(!outcome.ok && outcome.refusal.reason, /made for the embedder face-api-68-flip .*runs face-api-68/, 'the reason names both embedders');
  t.equal(store.current()?.version, 'v1', 'the running model keeps serving');
});

t.test('a swap lets requests in flight finish on the old session, then releases it', async (t) => {
  const dir = await tmpdir('ar-store-');
  await makeBundle(path.join(dir, 'v1'), { version: 'v1' });
  const store = newStore(dir);
  t.teardown(() => store.stop());
  const events: ModelEvent[] = [];
  store.on('model', () => {
    throw new Error('a broken listener must not break the swap');
  });
  store.on('model', (e: ModelEvent) => events.push(e));
  await store.start();
  t.equal(store.current()?.version, 'v1', 'the held version is loaded on start');

  const lease = store.acquire()!;
  const outcome = await incoming(store, 'v2');
  t.match(outcome, { ok: true, version: 'v2', changed: true });
  t.equal(store.current()?.version, 'v2', 'new requests get v2');
  const onOld = await lease.model.classify([randomUnit(1)]);
  t.equal(onOld[0]!.actor, 'Ada Lovelace', 'the request that held v1 still runs on v1 after the swap');
  lease.release();
  await until('the old session to be released', async () => {
    try {
      await lease.model.classify([randomUnit(1)]);
      return false;
    } catch {
      return true;
    }
  });
  t.pass('v1 was released once its last request finished');
  t.same(
    events.map((e) => [e.type, e.version, e.previous]),
    [
      ['swapped', 'v1', null],
      ['swapped', 'v2', 'v1'],
    ],
  );
  t.same(JSON.parse(await readFile(path.join(dir, 'active.json'), 'utf8')).version, 'v2');
  t.same((await readdir(dir)).filter((n) => !n.startsWith('.')).sort(), ['active.json', 'v1', 'v2'], 'the download was renamed into place');
});

t.test('broken bundles are refused with a reason and the running model keeps serving', async (t) => {
  const dir = await tmpdir('ar-store-');
  const store = newStore(dir);
  t.teardown(() => store.stop());
  await store.start();
  t.equal(store.current(), null);
  t.equal((await incoming(store, 'good')).ok, true);
  const cases: [Breakage, string, RegExp][] = [
    ['tampered', 'MODEL_CHECKSUM', /sha256/],
    ['truncated', 'MODEL_GRAPH_INVALID', /not a loadable ONNX graph/],
    ['extra-actor', 'MODEL_GRAPH_INVALID', /3 scores for 4 actors/],
    ['wrong-reference', 'MODEL_REFERENCE_MISMATCH', /reference 0 should be Alan Turing/],
  ];
  for (const [broken, code, reason] of cases) {
    const outcome = await incoming(store, `bad-${broken}`, broken);
    t.equal(outcome.ok, false, `${broken}: refused`);
    if (!outcome.ok) {
      t.equal(outcome.refusal.code, code, `${broken}: ${code}`);
      t.match(outcome.refusal.reason, reason);
    }
    t.equal(store.current()?.version, 'good', `${broken}: the good model keeps serving`);
    t.equal(await store.knows(`bad-${broken}`), 'refused');
  }
  const status = await store.status();
  t.same(
    status.refusals.map((r) => r.version),
    ['bad-wrong-reference', 'bad-extra-actor', 'bad-truncated', 'bad-tampered'],
  );
  t.same(
    status.held.map((h) => h.version),
    ['good'],
    'refused downloads are deleted',
  );
  t.same(await readdir(path.join(dir, '.incoming')), []);
});

t.test('rollback to a held version survives a restart; old versions beyond `keep` are pruned', async (t) => {
  const dir = await tmpdir('ar-store-');
  const store = newStore(dir, 3);
  await store.start();
  for (const v of ['v1', 'v2', 'v3', 'v4']) {
    t.equal((await incoming(store, v)).ok, true);
    await new Promise((r) => setTimeout(r, 20)); // distinct arrival times
  }
  t.same(
    (await store.status()).held.map((h) => h.version),
    ['v4', 'v3', 'v2'],
    'v1 was pruned',
  );
  t.match(await store.activate('v2'), { ok: true, version: 'v2', changed: true });
  t.match(await store.activate('v1'), { ok: false, refusal: { code: 'MODEL_NOT_FOUND' } });
  t.equal(store.current()?.version, 'v2');
  await store.stop();
  const again = newStore(dir);
  t.teardown(() => again.stop());
  await again.start();
  t.equal(again.current()?.version, 'v2', 'the rolled-back version runs after a restart');
  t.equal((await again.reload()).ok, true);
  t.equal(again.current()?.version, 'v2', 'a rescan does not undo the rollback');
});

t.test('a bundle copied into the watched folder runs; a Greengrass artifact folder is loaded by reload(dir)', async (t) => {
  const dir = await tmpdir('ar-store-');
  await makeBundle(path.join(dir, 'v1'), { version: 'v1' });
  const store = newStore(dir);
  const watcher = new FolderWatcher(store, silentLogger(), { settleMs: 100, rescanMs: 300 });
  t.teardown(async () => {
    await watcher.stop();
    await store.stop();
  });
  await store.start();
  await watcher.start();
  await makeBundle(path.join(dir, 'v2'), { version: 'v2', actors: ['Hedy Lamarr', 'Katherine Johnson'] });
  await until('the watcher to load v2', () => store.current()?.version === 'v2');
  t.same(store.current()?.actors, ['Hedy Lamarr', 'Katherine Johnson']);
  await makeBundle(path.join(dir, 'v3'), { version: 'v3', broken: 'truncated' });
  await until('v3 to be refused', async () => (await store.status()).refusals.some((r) => r.version === 'v3'));
  t.equal(store.current()?.version, 'v2', 'a broken bundle dropped in the folder does not replace v2');

  const artifact = await makeBundle(await tmpdir('ar-artifact-'), { version: 'gg-1' });
  t.match(await store.reload(artifact), { ok: true, version: 'gg-1' });
  t.equal(store.current()?.version, 'gg-1');
  t.ok(
    (await store.status()).held.some((h) => h.version === 'gg-1'),
    'the artifact was copied into the store',
  );
  const gone = await store.reload(path.join(dir, 'no-such-artifact'));
  t.equal(gone.ok, false, 'a missing artifact folder is refused, not thrown');
  t.equal(store.current()?.version, 'gg-1');
});

t.test('a download larger than the free disk space is refused before it starts', async (t) => {
  const store = newStore(await tmpdir('ar-store-'));
  await t.rejects(store.ensureFreeSpace(Number.MAX_SAFE_INTEGER), /not enough disk space/);
  await t.resolves(store.ensureFreeSpace(1024));
});

t.test('swaps reach the event bus (MQTT P/model), starting with the running model; refusals do not', async (t) => {
  const dir = await tmpdir('ar-store-');
  await makeBundle(path.join(dir, 'v1'), { version: 'v1' });
  const service = new ModelService({ dir, starter: false, keep: 3, minFreeMiB: 64 }, { threads: 1, log: silentLogger(), watch: false });
  t.teardown(() => service.stop());
  await service.start();
  const bus = new EventBus(silentLogger());
  const seen: unknown[] = [];
  bus.on('model', (m) => seen.push([m.version, m.actors.length, typeof m.loadedAt]));
  service.connect(bus);
  await incoming(service.store, 'v2');
  await incoming(service.store, 'v3', 'truncated');
  t.same(seen, [
    ['v1', 3, 'string'],
    ['v2', 3, 'string'],
  ]);
  t.equal((await service.status()).s3, null);
});
