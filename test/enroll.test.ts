// Enrollment on the device: a new bundle from the running one's class means, verified, swapped, rolled back.
import { mkdtemp, readFile } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import t, { type Test } from 'tap';
import { buildApp } from '../src/api/app.js';
import { enrollRoutes } from '../src/api/enroll-routes.js';
import { isRecognizerError } from '../src/errors.js';
import { silentLogger } from '../src/logger.js';
import { ModelStore } from '../src/models/model-store.js';
import { CENTROIDS_FILE, centroidsFile } from '../src/recognize/centroids.js';
import { Enroller, validateName } from '../src/models/enroll.js';
import { classMeans, HEAD_INPUT, HEAD_OUTPUT, ncmHeadGraph } from '../src/recognize/ncm-head.js';
import { PendingFaces } from '../src/recognize/pending-faces.js';
import { Recognizer } from '../src/recognize/recognizer.js';
import { UnknownFaces } from '../src/track/unknown-faces.js';
import { writeBundle } from '../src/recognize/bundle-writer.js';
import { makeBundle, randomUnit, SIZE } from './helpers/bundles.js';
import { datasetsMissing, faces } from './helpers/datasets.js';
import { photosOf } from './helpers/embeddings.js';
import { fiveCelebritiesModel, testPipeline } from './helpers/models.js';
import { storeWith } from './helpers/web.js';
import { DEFAULT_EMBEDDER, embedderSpec } from '../src/vision/embedder.js';

const missing = datasetsMissing();
const log = silentLogger();

/** A two-actor ncm bundle with its class means, or with another head type written in its manifest. */
async function synthetic(headType = 'ncm-cosine'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-synthetic-'));
  const actors = ['Ada Lovelace', 'Alan Turing'];
  const byClass = actors.map((_, i) => [randomUnit(i + 1)]);
  await writeBundle(
    dir,
    {
      version: 'synthetic-1',
      kind: 'embedding-classifier',
      createdAt: new Date().toISOString(),
      actors,
      input: { type: 'embedding', name: HEAD_INPUT, size: SIZE, extractor: DEFAULT_EMBEDDER, embedder: embedderSpec(DEFAULT_EMBEDDER) },
      head: { type: headType, graph: 'head.onnx', output: HEAD_OUTPUT, score: 'cosine' },
      thresholds: { default: 0.9, perActor: { 'Alan Turing': 0.8 } },
      training: { seed: 1 },
    },
    { 'head.onnx': ncmHeadGraph(classMeans(byClass, SIZE), SIZE), [CENTROIDS_FILE]: centroidsFile(actors, byClass, SIZE) },
  );
  return dir;
}

async function startStore(dir: string): Promise<ModelStore> {
  const store = new ModelStore(log, { dir, threads: 1, keep: 5, reserveBytes: 0 });
  await store.start();
  return store;
}

async function refusal(t: Test, promise: Promise<unknown>, code: string, message: RegExp, what: string): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(
    isRecognizerError(err) && err.code === code && message.test(err.message),
    `${what}: ${code} ${err instanceof Error ? `(${err.message})` : '(no error)'}`,
  );
}

t.test('a new person joins the running model as a new version; the old actors stay; rollback works', async (t) => {
  const { dir, version: base } = await storeWith(await synthetic());
  const store = await startStore(dir);
  t.teardown(() => store.stop());
  const enroller = new Enroller(store, log);
  const grace = randomUnit(9);
  const near = (v: Float32Array, seed: number) => v.map((x, i) => x + 0.02 * (randomUnit(seed)[i]! ?? 0));

  const added = await enroller.enroll('  Grace   Hopper ', [near(grace, 20), near(grace, 21), near(grace, 22)], 'test');
  if (!added.ok) throw new Error(added.refusal.reason);
  t.equal(added.version, `${base}.e1-grace-hopper`);
  t.match(added, { actor: 'Grace Hopper', previous: base, faces: 3, updated: false });
  const model = store.current()!;
  t.equal(model.version, added.version, 'the new version runs');
  t.same(model.actors, ['Ada Lovelace', 'Alan Turing', 'Grace Hopper']);
  const [g, a, turing] = await model.classify([grace, randomUnit(1), randomUnit(2)]);
  t.equal(g!.actor, 'Grace Hopper', 'names the new person');
  t.equal(a!.actor, 'Ada Lovelace', 'old actors still named');
  t.equal(turing!.actor, 'Alan Turing');
  t.match(model.manifest.thresholds, { default: 0.9, perActor: { 'Alan Turing': 0.8 } }, 'the new actor takes the pooled threshold; others keep theirs');
  t.match(
    model.manifest.training,
    { seed: 1, enrolled: [{ actor: 'Grace Hopper', faces: 3, updated: false, base, origin: 'test' }] },
    'the manifest says it was enrolled on the device',
  );

  // The head is exactly the ncm graph of the bundle's class means: what the fused graph appends too.
  const held = path.join(dir, added.version);
  const centroids = JSON.parse(await readFile(path.join(held, CENTROIDS_FILE), 'utf8')) as { classes: { actor: string; count: number; mean: number[] }[] };
  t.same(
    centroids.classes.map((c) => [c.actor, c.count]),
    [
      ['Ada Lovelace', 1],
      ['Alan Turing', 1],
      ['Grace Hopper', 3],
    ],
  );
  t.same(
    Buffer.from(
      ncmHeadGraph(
        centroids.classes.map((c) => Float32Array.from(c.mean)),
        SIZE,
      ),
    ),
    await readFile(path.join(held, 'head.onnx')),
    'head.onnx = ncmHeadGraph(centroids)',
  );

  // The same person again, spelled otherwise: more faces folded into theirs.
  const more = await enroller.enroll('grace hopper', [near(grace, 23)], 'test');
  t.match(more, { ok: true, actor: 'Grace Hopper', updated: true, version: `${base}.e2-grace-hopper`, previous: added.version });
  t.same(store.current()!.actors.length, 3, 'no second Grace Hopper');

  // Rollback: the base runs again and the enrolled versions stay held.
  t.match(await store.activate(base), { ok: true, version: base });
  t.same(store.current()!.actors, ['Ada Lovelace', 'Alan Turing']);
  const versions = (await store.status()).held.map((h) => h.version);
  t.ok(versions.includes(added.version) && versions.includes(`${base}.e2-grace-hopper`), 'enrolled versions are held for rollforward');
  const again = await enroller.enroll('Grace Hopper', [grace], 'test');
  t.match(again, { ok: true, previous: base, version: `${base}.e3-grace-hopper` }, 'a version name already held is not reused');
});

t.test('what cannot be enrolled is refused with a clear error', async (t) => {
  for (const [name, why] of [
    ['', 'empty'],
    ['   ', 'blank'],
    ['x'.repeat(65), 'too long'],
    ['<script>', 'markup'],
    ['-dash', 'leading punctuation'],
    ['Unknown', 'the word for strangers'],
    [42, 'not a string'],
  ] as const) {
    t.throws(() => validateName(name), { code: 'ENROLL_INVALID' }, why);
  }
  t.equal(validateName('Zoë  Saldaña-Nazario Jr.'), 'Zoë Saldaña-Nazario Jr.', 'letters of any language, one space between words');

  const { dir } = await storeWith(await synthetic());
  const store = await startStore(dir);
  t.teardown(() => store.stop());
  const enroller = new Enroller(store, log);
  await refusal(t, enroller.enroll('Grace Hopper', [], 'test'), 'ENROLL_INVALID', /at least one face/, 'no face');
  await refusal(t, enroller.enroll('Grace Hopper', [new Float32Array(64)], 'test'), 'ENROLL_INVALID', new RegExp(`${SIZE} values`), 'another embedding size');

  const cases: [string, Promise<string>, RegExp][] = [
    ['an mlp head', synthetic('mlp-softmax').then(async (b) => (await storeWith(b)).dir), /head is mlp-softmax/],
    [
      'a bundle without class means',
      makeBundle(await mkdtemp(path.join(os.tmpdir(), 'ar-plain-')), { version: 'plain-1' }).then(async (b) => (await storeWith(b)).dir),
      /no class means/,
    ],
    ['model.dir as one bundle', synthetic(), /one bundle, not a store/],
    ['no model at all', mkdtemp(path.join(os.tmpdir(), 'ar-empty-')), /no actor model is running/],
  ];
  for (const [what, folder, message] of cases) {
    const other = await startStore(await folder);
    t.teardown(() => other.stop());
    await refusal(t, new Enroller(other, log).enroll('Grace Hopper', [randomUnit(9)], 'test'), 'ENROLL_UNSUPPORTED', message, what);
  }
});

t.test('the REST routes: faces found in photos, enrolled, and the next recognition names the person', { skip: missing }, async (t) => {
  const { dir } = await storeWith(await fiveCelebritiesModel());
  const store = await startStore(dir);
  const pipeline = await testPipeline();
  const recognizer = new Recognizer(pipeline, store, { maxPixels: 40_000_000 });
  const app = await buildApp({ recognizer, models: store, notReady: () => [] }, { bodyLimitBytes: 20 * 1024 * 1024, logger: log, version: 'test' });
  await app.register(enrollRoutes, {
    recognizer,
    pending: new PendingFaces(),
    enroller: new Enroller(store, log),
    unknowns: new UnknownFaces(log),
    cameras: () => [],
    maxPixels: 40_000_000,
    unknownWindowSeconds: 3600,
  });
  t.teardown(async () => {
    await app.close();
    await store.stop();
  });
  const person = 'Hugo Chavez';
  const photos = await photosOf(faces('lfw', person));
  const before = await app.inject({ method: 'POST', url: '/v1/recognize', payload: await readFile(photos[9]!), headers: { 'content-type': 'image/jpeg' } });
  t.equal(before.json().faces[0].actor, null, `${person} is not in the model yet`);

  const ids: string[] = [];
  for (const photo of photos.slice(0, 5)) {
    const res = await app.inject({ method: 'POST', url: '/v1/enroll/faces', payload: await readFile(photo), headers: { 'content-type': 'image/jpeg' } });
    t.equal(res.statusCode, 200);
    const found = res.json() as { faces: { id: string; thumbnail: string; box: { width: number } }[] };
    t.ok(found.faces.length >= 1 && found.faces[0]!.thumbnail.startsWith('data:image/jpeg;base64,'), `${path.basename(photo)}: a face with a thumbnail`);
    ids.push(found.faces.reduce((a, b) => (b.box.width > a.box.width ? b : a)).id);
  }
  const enrolled = await app.inject({ method: 'POST', url: '/v1/enroll', payload: { name: person, faces: ids } });
  t.equal(enrolled.statusCode, 200, enrolled.body);
  t.match(enrolled.json(), { actor: person, faces: 5, updated: false, nearest: { actor: String, score: Number, alike: Boolean } });
  for (const photo of photos.slice(5)) {
    const res = await app.inject({ method: 'POST', url: '/v1/recognize', payload: await readFile(photo), headers: { 'content-type': 'image/jpeg' } });
    t.equal(res.json().faces[0]?.actor, person, `${path.basename(photo)} (not enrolled) is named`);
  }
  t.equal(store.current()!.version, enrolled.json().version);

  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });
  t.match((await post('/v1/enroll', { name: person, faces: ids })).json(), { error: { code: 'ENROLL_NOT_FOUND' } }, 'faces are used once');
  t.equal((await post('/v1/enroll', { name: person, faces: ['nope'] })).statusCode, 404);
  t.equal((await post('/v1/enroll', { name: '<b>', faces: ['nope'] })).statusCode, 400, 'a bad name is 400');
  t.equal((await post('/v1/enroll', { name: person, faces: [] })).statusCode, 400, 'no face is 400');
  t.equal((await app.inject({ method: 'POST', url: '/v1/enroll/faces', payload: 'hello', headers: { 'content-type': 'text/plain' } })).statusCode, 415);
  t.equal((await app.inject({ method: 'POST', url: '/v1/enroll/faces', payload: 'hello', headers: { 'content-type': 'image/jpeg' } })).statusCode, 400);
  t.equal((await post('/v1/enroll/cameras/nope/faces', undefined)).statusCode, 404);
  t.same((await app.inject('/v1/unknowns')).json(), { windowSeconds: 3600, groups: [] });
  t.match((await post('/v1/unknowns/nope/enroll', { name: person })).json(), { error: { code: 'ENROLL_NOT_FOUND' } });
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/unknowns/nope' })).statusCode, 404);
  const doc = (await app.inject('/openapi.json')).json() as { paths: Record<string, unknown> };
  for (const route of ['/v1/enroll/faces', '/v1/enroll/cameras/{id}/faces', '/v1/enroll', '/v1/unknowns', '/v1/unknowns/{id}/enroll', '/v1/unknowns/{id}'])
    t.ok(doc.paths[route], `OpenAPI documents ${route}`);
});
