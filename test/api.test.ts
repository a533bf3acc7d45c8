// The REST API through fastify's inject, with the real face pipeline and a real actor model.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import t from 'tap';
import { buildApp } from '../src/api/app.js';
import { silentLogger } from '../src/logger.js';
import { FixedModel } from '../src/recognize/fixed-model.js';
import { Recognizer } from '../src/recognize/recognizer.js';
import { datasetsMissing, faces } from './helpers/datasets.js';
import { hugeBlankPng } from './helpers/images.js';
import { fiveCelebritiesModel, testPipeline } from './helpers/models.js';

const missing = datasetsMissing();

async function app(options: { apiKey?: string; withModel: boolean }) {
  const models = await FixedModel.load(options.withModel ? await fiveCelebritiesModel() : undefined, { threads: 1 });
  const recognizer = new Recognizer(await testPipeline(), models, { maxPixels: 40_000_000 });
  const server = await buildApp(
    { recognizer, models, notReady: () => (models.current() ? [] : ['no actor model is loaded']) },
    { apiKey: options.apiKey, bodyLimitBytes: 20 * 1024 * 1024, logger: silentLogger(), version: 'test' },
  );
  return { server, models };
}

function photoOf(person: string): Buffer {
  const dir = faces('five-celebrities', 'val', person);
  return readFileSync(path.join(dir, readdirSync(dir).sort()[0]!));
}

if (missing) {
  t.plan(0, missing);
} else {
  t.test('a real photo is answered with the right actor; bad input gets clear 4xx and the API keeps serving', async (t) => {
    const { server, models } = await app({ withModel: true });
    t.teardown(async () => {
      await server.close();
      await models.stop();
    });
    const recognize = (body: Buffer | string, type: string) =>
      server.inject({ method: 'POST', url: '/v1/recognize', payload: body, headers: { 'content-type': type } });

    const ok = await recognize(photoOf('Madonna'), 'image/jpeg');
    t.equal(ok.statusCode, 200);
    const answer = ok.json();
    t.equal(answer.faces.length >= 1, true, 'at least one face');
    t.equal(answer.faces[0].actor, 'Madonna');
    t.equal(answer.model.version, models.current()!.version);
    t.ok(answer.faces[0].box.width > 20, 'a box in pixels');
    const quality = answer.faces[0].quality;
    t.ok(quality && quality.score > 0 && quality.score <= 1, `a quality score: ${JSON.stringify(quality)}`);
    for (const part of ['size', 'sharpness', 'pose', 'detector']) t.ok(quality[part] >= 0 && quality[part] <= 1, `quality.${part} in 0–1`);
    t.ok(quality.margin >= 0, 'and the margin the face had to clear');

    const jpeg = photoOf('Elton John');
    const cases: [string, Buffer | string, string, number, string][] = [
      ['a text file', 'hello, I am not an image\n', 'text/plain', 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['text sent as a JPEG', 'hello, I am not an image\n', 'image/jpeg', 400, 'IMAGE_INVALID'],
      ['a truncated JPEG', jpeg.subarray(0, Math.floor(jpeg.length / 3)), 'image/jpeg', 400, 'IMAGE_INVALID'],
      ['an empty body', Buffer.alloc(0), 'image/png', 400, 'IMAGE_INVALID'],
      ['a 20000×20000 PNG', hugeBlankPng(20000), 'image/png', 413, 'IMAGE_TOO_LARGE'],
    ];
    for (const [what, body, type, status, code] of cases) {
      const res = await recognize(body, type);
      t.equal(res.statusCode, status, `${what}: ${status}`);
      t.equal(res.json().error?.code, code, `${what}: ${code}`);
      t.type(res.json().error?.message, 'string');
    }
    const again = await recognize(photoOf('Jerry Seinfeld'), 'image/jpeg');
    t.equal(again.statusCode, 200, 'still serving after bad input');
    t.equal(again.json().faces[0]?.actor, 'Jerry Seinfeld');
  });

  t.test('a body over the limit gets 413', async (t) => {
    const { server } = await app({ withModel: false });
    t.teardown(() => server.close());
    const res = await server.inject({
      method: 'POST',
      url: '/v1/recognize',
      payload: Buffer.alloc(21 * 1024 * 1024),
      headers: { 'content-type': 'image/jpeg' },
    });
    t.equal(res.statusCode, 413);
    t.equal(res.json().error.code, 'BODY_TOO_LARGE');
  });

  t.test('without a model: faces are unknown, /v1/model is empty, /readyz says why', async (t) => {
    const { server } = await app({ withModel: false });
    t.teardown(() => server.close());
    const res = await server.inject({ method: 'POST', url: '/v1/recognize', payload: photoOf('Madonna'), headers: { 'content-type': 'image/jpeg' } });
    t.equal(res.statusCode, 200);
    t.ok(res.json().faces.length >= 1);
    t.equal(res.json().faces[0].actor, null);
    t.equal(res.json().model.version, null);
    t.same((await server.inject('/v1/model')).json(), { version: null, actors: [], loadedAt: null, source: null });
    const ready = await server.inject('/readyz');
    t.equal(ready.statusCode, 503);
    t.same(ready.json().reasons, ['no actor model is loaded']);
    t.equal((await server.inject('/healthz')).statusCode, 200);
  });

  t.test('/v1/model and the OpenAPI document', async (t) => {
    const { server, models } = await app({ withModel: true });
    t.teardown(async () => {
      await server.close();
      await models.stop();
    });
    const model = (await server.inject('/v1/model')).json();
    t.same(model.actors, ['Ben Affleck', 'Elton John', 'Jerry Seinfeld', 'Madonna', 'Mindy Kaling']);
    t.match(model.loadedAt, /^\d{4}-\d\d-\d\dT/);
    t.equal((await server.inject('/readyz')).statusCode, 200);
    const doc = (await server.inject('/openapi.json')).json();
    t.equal(doc.openapi.startsWith('3.'), true);
    for (const route of ['/healthz', '/readyz', '/v1/recognize', '/v1/model']) t.ok(doc.paths[route], `documents ${route}`);
  });

  t.test('with an API key, every route but health and readiness needs it', async (t) => {
    const { server } = await app({ apiKey: 'correct horse battery', withModel: false });
    t.teardown(() => server.close());
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    t.equal((await server.inject('/healthz')).statusCode, 200);
    t.equal((await server.inject('/readyz')).statusCode, 503);
    for (const headers of [{}, { 'x-api-key': 'wrong key!' }, { authorization: 'Bearer nope' }]) {
      const res = await server.inject({ url: '/v1/model', headers });
      t.equal(res.statusCode, 401);
      t.equal(res.json().error.code, 'UNAUTHORIZED');
    }
    const unknownRoute = await server.inject({ url: '/v1/secret-admin' });
    t.equal(unknownRoute.statusCode, 401, 'an unknown route looks the same as a known one');
    t.equal((await server.inject({ url: '/v1/model', headers: { 'x-api-key': 'correct horse battery' } })).statusCode, 200);
    t.equal((await server.inject({ url: '/v1/model', headers: { authorization: 'Bearer correct horse battery' } })).statusCode, 200);
    const posted = await server.inject({
      method: 'POST',
      url: '/v1/recognize',
      payload: png,
      headers: { 'content-type': 'image/png', 'x-api-key': 'correct horse battery' },
    });
    t.equal(posted.statusCode, 200);
    t.same(posted.json().faces, []);
  });
}
