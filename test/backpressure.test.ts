// Backpressure: a bounded queue of image requests (503 + Retry-After beyond it), /healthz answers meanwhile; image routes never parse JSON; our own error codes.
import t from 'tap';
import { Admission } from '../src/api/admission.js';
import { buildApp } from '../src/api/app.js';
import { silentLogger } from '../src/logger.js';
import type { Recognizer } from '../src/recognize/recognizer.js';

/** A recognizer that takes `ms` per image, as the one inference worker does under load. */
function slowRecognizer(ms: number): Recognizer {
  return { recognizeBytes: async () => (await new Promise((r) => setTimeout(r, ms)), { faces: [], model: null }) } as unknown as Recognizer;
}

async function app(admission?: Admission) {
  const server = await buildApp(
    { recognizer: slowRecognizer(300), models: { current: () => null, currentSource: () => null }, notReady: () => [] },
    { bodyLimitBytes: 30 * 1024 * 1024, jsonBodyLimitBytes: 1024 * 1024, admission, logger: silentLogger(), version: 'test' },
  );
  server.post('/test/json', { schema: { body: { type: 'object' } } }, async (request) => ({ got: request.body }));
  return server;
}

t.test('30 concurrent images: 1 running and 2 waiting are answered, the rest get 503 with Retry-After at once; /healthz stays quick', async (t) => {
  const server = await app(new Admission(1, 2));
  t.teardown(() => server.close());
  const png = Buffer.from('89504e470d0a1a0a', 'hex');
  const started = Date.now();
  const all = Array.from({ length: 30 }, () =>
    server
      .inject({ method: 'POST', url: '/v1/recognize', payload: png, headers: { 'content-type': 'image/png' } })
      .then((res) => ({ res, ms: Date.now() - started })),
  );
  const health = Date.now();
  t.equal((await server.inject('/healthz')).statusCode, 200);
  t.ok(Date.now() - health < 500, `/healthz answered in ${Date.now() - health} ms while 30 images were in`);
  const answers = await Promise.all(all);
  const by = (status: number) => answers.filter((a) => a.res.statusCode === status);
  t.equal(by(200).length, 3, 'the one running and the two waiting');
  t.equal(by(503).length, 27, 'the rest refused');
  const refused = by(503)[0]!;
  t.equal(refused.res.json().error.code, 'BUSY');
  t.ok(Number(refused.res.headers['retry-after']) >= 1, `Retry-After: ${refused.res.headers['retry-after']}`);
  t.ok(Math.max(...by(503).map((a) => a.ms)) < Math.min(...by(200).map((a) => a.ms)), 'refused at once: before the first image was done');
});

t.test('a 20 MB JSON to /v1/recognize is refused 415 without being parsed; JSON routes take small bodies, in our vocabulary', async (t) => {
  const server = await app();
  t.teardown(() => server.close());
  const parse = JSON.parse;
  let longest = 0;
  JSON.parse = ((text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
    longest = Math.max(longest, typeof text === 'string' ? text.length : 0);
    return parse(text, reviver);
  }) as typeof JSON.parse;
  t.teardown(() => void (JSON.parse = parse));
  const big = JSON.stringify({ data: 'x'.repeat(20 * 1024 * 1024) });
  const res = await server.inject({ method: 'POST', url: '/v1/recognize', payload: big, headers: { 'content-type': 'application/json' } });
  t.equal(res.statusCode, 415);
  t.equal(res.json().error.code, 'UNSUPPORTED_MEDIA_TYPE');
  t.ok(longest < 1024 * 1024, `no 20 MB string went through JSON.parse (longest ${longest})`);

  const tooBig = await server.inject({ method: 'POST', url: '/test/json', payload: big, headers: { 'content-type': 'application/json' } });
  t.equal(tooBig.statusCode, 413, 'a JSON route takes at most jsonBodyLimitBytes');
  t.equal(tooBig.json().error.code, 'BODY_TOO_LARGE');
  const invalid = await server.inject({ method: 'POST', url: '/test/json', payload: '{"name": ', headers: { 'content-type': 'application/json' } });
  t.equal(invalid.statusCode, 400);
  t.equal(invalid.json().error.code, 'BODY_INVALID', "our code, not fastify's");
  const empty = await server.inject({ method: 'POST', url: '/test/json', payload: '', headers: { 'content-type': 'application/json' } });
  t.equal(empty.statusCode, 400);
  t.equal(empty.json().error.code, 'BODY_INVALID');
  const text = await server.inject({ method: 'POST', url: '/test/json', payload: 'hello', headers: { 'content-type': 'text/plain' } });
  t.equal(text.statusCode, 415);
  t.notMatch(JSON.stringify([invalid.json(), empty.json(), text.json()]), /FST_/, 'no fastify code reaches a client');
  t.same((await server.inject({ method: 'POST', url: '/test/json', payload: '{"a":1}', headers: { 'content-type': 'application/json' } })).json(), {
    got: { a: 1 },
  });
});
