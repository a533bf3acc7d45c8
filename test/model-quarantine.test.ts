// Refused bundles are set apart: they never count toward model.keep, never show for rollback, and are pruned on their own.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { silentLogger } from '../src/logger.js';
import { KEEP_REFUSED, REFUSED } from '../src/models/disk.js';
import { ModelStore } from '../src/models/model-store.js';
import { makeBundle } from './helpers/bundles.js';
import { tmpdir } from './helpers/s3.js';

/** Copies a bundle into the store's folder as a user would, and has the store look (as its folder watch does). */
async function drop(store: ModelStore, version: string, broken = false) {
  // Arrival order is the manifest's mtime: keep arrivals apart.
  await new Promise((r) => setTimeout(r, 20));
  await makeBundle(path.join(store.dir, version), { version, broken: broken ? 'tampered' : undefined });
  return store.rescan(0);
}

t.test('three refused bundles then a good one: the previous good version is still there to roll back to', async (t) => {
  const dir = await tmpdir('ar-quarantine-');
  const store = new ModelStore(silentLogger(), { dir, threads: 1, keep: 3, reserveBytes: 0 });
  t.teardown(() => store.stop());
  await store.start();
  t.match(await drop(store, 'good1'), { ok: true, version: 'good1' });
  for (const bad of ['bad1', 'bad2', 'bad3']) {
    await drop(store, bad, true);
    t.match((await store.status()).refusals[0], { version: bad, code: 'MODEL_CHECKSUM' }, `${bad} refused`);
  }
  t.equal(store.current()?.version, 'good1', 'the good version kept serving');
  t.match(await drop(store, 'good2'), { ok: true, version: 'good2' });

  const status = await store.status();
  t.same(status.held.map((b) => b.version).sort(), ['good1', 'good2'], 'the rollback list holds the verified versions only');
  t.same(
    status.refusals.map((r) => r.version),
    ['bad3', 'bad2', 'bad1'],
    'the refusals are listed apart, with their reasons',
  );
  const apart = await readdir(path.join(dir, REFUSED));
  t.equal(apart.length, 3, 'the refused folders are set apart');
  const record = JSON.parse(await readFile(path.join(dir, REFUSED, apart[0]!, 'refusal.json'), 'utf8')) as { code: string; reason: string };
  t.equal(record.code, 'MODEL_CHECKSUM');
  t.ok(record.reason.length > 0, `with the reason: ${record.reason}`);

  t.match(await store.activate('good1'), { ok: true, version: 'good1', changed: true }, 'rollback to the previous good version works');
  t.equal(store.current()?.version, 'good1');
});

t.test('keep 1: the running version and the one before it are never pruned; older verified ones are', async (t) => {
  const dir = await tmpdir('ar-keep-');
  const store = new ModelStore(silentLogger(), { dir, threads: 1, keep: 1, reserveBytes: 0 });
  t.teardown(() => store.stop());
  await store.start();
  await drop(store, 'v1');
  await drop(store, 'v2');
  t.same((await store.status()).held.map((b) => b.version).sort(), ['v1', 'v2'], 'v1 ran before v2: kept for a rollback');
  await drop(store, 'v3');
  t.same((await store.status()).held.map((b) => b.version).sort(), ['v2', 'v3'], 'v1 pruned once two newer verified versions ran');
});

t.test('refused bundles are pruned on their own, the newest kept', async (t) => {
  const dir = await tmpdir('ar-refused-');
  const store = new ModelStore(silentLogger(), { dir, threads: 1, keep: 3, reserveBytes: 0 });
  t.teardown(() => store.stop());
  await store.start();
  await drop(store, 'good');
  for (let i = 0; i < KEEP_REFUSED + 2; i++) await drop(store, `bad${i}`, true);
  const apart = await readdir(path.join(dir, REFUSED));
  t.equal(apart.length, KEEP_REFUSED, `${KEEP_REFUSED} refused bundles kept`);
  t.ok(
    apart.some((name) => name.startsWith(`bad${KEEP_REFUSED + 1}-`)),
    'the newest among them',
  );
  t.notOk(
    apart.some((name) => name.startsWith('bad0-')),
    'the oldest deleted',
  );
  t.same(
    (await store.status()).held.map((b) => b.version),
    ['good'],
  );
});

t.test('a rescan with no settling time takes a bundle written this very millisecond', async (t) => {
  // Date.now() counts whole milliseconds, a manifest's mtime their fractions: right after a write
  // the manifest looks younger than now (measured: 1927 times of 2000).
  const dir = await tmpdir('ar-rescan-now-');
  const store = new ModelStore(silentLogger(), { dir, threads: 1, keep: 3, reserveBytes: 0 });
  t.teardown(() => store.stop());
  await store.start();
  for (const version of ['now1', 'now2', 'now3']) {
    await makeBundle(path.join(dir, version), { version });
    t.match(await store.rescan(0), { ok: true, version, changed: true }, `${version} runs at once`);
  }
});
