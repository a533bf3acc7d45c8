// One vocabulary: the API answers every code with the status of the one table; settings' defaults are the schema's.
import Fastify from 'fastify';
import t from 'tap';
import { installErrorHandlers } from '../src/api/errors.js';
import { modelRoutes, type ModelControl } from '../src/api/model-routes.js';
import { loadConfig } from '../src/config/load.js';
import { HTTP_STATUS, RecognizerError, type ErrorCode } from '../src/errors.js';
import { UNKNOWN_DEFAULTS, unknownSettings } from '../src/track/unknown-faces.js';

/** An app whose model routes refuse with `code`, and a route that throws a RecognizerError of `code`. */
async function appRefusing(code: ErrorCode) {
  const app = Fastify();
  installErrorHandlers(app);
  const refused = { ok: false as const, refusal: { code, reason: `refused: ${code}` } };
  const control: ModelControl = { status: async () => ({}), activate: async () => refused, reload: async () => refused };
  await app.register(modelRoutes, control);
  app.get('/throws', async () => {
    throw new RecognizerError(code, `thrown: ${code}`);
  });
  app.get('/foreign', async () => {
    throw Object.assign(new Error('a library refused it'), { statusCode: 400, code: 'ERR_SOME_LIBRARY' });
  });
  await app.ready();
  return app;
}

t.test('a refused bundle is answered with its code and the status the table gives it', async (t) => {
  for (const [code, status] of [
    ['MODEL_NOT_FOUND', 404],
    ['MODEL_CHECKSUM', 422],
    ['MODEL_GRAPH_INVALID', 422],
    ['MODEL_DISK_FULL', 507],
  ] as const) {
    const app = await appRefusing(code);
    t.teardown(() => app.close());
    const res = await app.inject({ method: 'POST', url: '/v1/model/activate', payload: { version: 'v1' } });
    t.equal(res.statusCode, status, `${code}: ${status}`);
    t.same(res.json(), { error: { code, message: `refused: ${code}` } });
    t.equal(HTTP_STATUS[code], status, `${code}: the table says ${status}`);
  }
});

t.test('a thrown error answers its code, except a failure of ours (500), whose details are hidden', async (t) => {
  const enroll = await appRefusing('ENROLL_UNSUPPORTED');
  t.teardown(() => enroll.close());
  const answered = await enroll.inject({ url: '/throws' });
  t.equal(answered.statusCode, 409);
  t.same(answered.json(), { error: { code: 'ENROLL_UNSUPPORTED', message: 'thrown: ENROLL_UNSUPPORTED' } });
  const vision = await appRefusing('VISION_FAILED');
  t.teardown(() => vision.close());
  const hidden = await vision.inject({ url: '/throws' });
  t.equal(hidden.statusCode, 500);
  t.same(hidden.json(), { error: { code: 'INTERNAL', message: 'internal error' } });
  const foreign = await vision.inject({ url: '/foreign' });
  t.equal(foreign.statusCode, 400);
  t.same(foreign.json(), { error: { code: 'BAD_REQUEST', message: 'a library refused it' } }, "a library's code is not handed out");
});

t.test('the unknown faces take their settings from the schema, and a setting reaches them', async (t) => {
  const defaults = loadConfig({ env: {} });
  t.match(UNKNOWN_DEFAULTS, unknownSettings(defaults.unknowns), "the defaults are the schema's");
  const set = loadConfig({ env: { ACTOR_RECOGNIZER_UNKNOWNS_KEEP_SECONDS: '120', ACTOR_RECOGNIZER_UNKNOWNS_MAX_GROUPS: '7' } });
  t.match(unknownSettings(set.unknowns), { windowMs: 120_000, maxGroups: 7, maxFaces: 2000 });
});
