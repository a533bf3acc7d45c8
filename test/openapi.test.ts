// /openapi.json is enough to call the API: image bodies, image answers and the key, read from the document alone.
import t from 'tap';
import { HTTP_STATUS } from '../src/errors.js';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { datasetsMissing, faces } from './helpers/datasets.js';
import { photosOf } from './helpers/embeddings.js';
import { syntheticVideo } from './helpers/ingest.js';
import { startDaemon } from './helpers/web.js';

const KEY = 'openapi-key-1234';

interface Operation {
  security?: Record<string, string[]>[];
  requestBody?: { required?: boolean; content: Record<string, { schema: { type?: string; format?: string } }> };
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
}
interface Document {
  openapi: string;
  security: Record<string, string[]>[];
  components: { securitySchemes: Record<string, { type: string; in?: string; name?: string; scheme?: string }> };
  paths: Record<string, Record<string, Operation>>;
}

/**
 * A client as a generator makes one: the content type of a body, where the key goes and what an
 * answer is come from the document, never from knowing this API.
 */
function client(doc: Document, base: string, key: string, scheme: string) {
  return async (method: string, path: string, params: Record<string, string>, body?: { bytes: Buffer; type: string }) => {
    const op = doc.paths[path]![method]!;
    const headers: Record<string, string> = {};
    const required = op.security ?? doc.security;
    if (required.some((s) => scheme in s)) {
      const declared = doc.components.securitySchemes[scheme]!;
      if (declared.type === 'apiKey' && declared.in === 'header') headers[declared.name!] = key;
      if (declared.type === 'http' && declared.scheme === 'bearer') headers['authorization'] = `Bearer ${key}`;
    }
    if (body) {
      const media = op.requestBody?.content[body.type];
      if (!media || media.schema.format !== 'binary') throw new Error(`${path} does not declare a binary ${body.type} body`);
      headers['content-type'] = body.type;
    }
    const url = base + path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name]!));
    const res = await fetch(url, { method: method.toUpperCase(), headers, body: body ? new Uint8Array(body.bytes) : undefined });
    const declared = op.responses[String(res.status)]?.content ?? {};
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!;
    return { status: res.status, type, declaredTypes: Object.keys(declared), bytes: Buffer.from(await res.arrayBuffer()) };
  };
}

t.test('a client made from /openapi.json sends images, the key in either scheme, and reads image answers', { skip: datasetsMissing() }, async (t) => {
  const camera = await syntheticVideo(320, 240, 3);
  const { daemon, base } = await startDaemon({
    ACTOR_RECOGNIZER_API_API_KEY: KEY,
    ACTOR_RECOGNIZER_CAMERAS: JSON.stringify([{ id: 'pattern', url: camera, loop: true, fps: 2 }]),
  });
  t.teardown(() => daemon.stop());
  const doc = (await (await fetch(`${base}/openapi.json`, { headers: { 'x-api-key': KEY } })).json()) as Document;

  t.match(
    doc.components.securitySchemes,
    { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' }, bearer: { type: 'http', scheme: 'bearer' } },
    'both ways of sending the key are declared',
  );
  t.same(doc.security, [{ apiKey: [] }, { bearer: [] }], 'either one is enough');
  t.same(doc.paths['/healthz']!['get']!.security, [], 'health needs no key');
  for (const path of ['/v1/recognize', '/v1/enroll/faces']) {
    const body = doc.paths[path]!['post']!.requestBody!;
    t.equal(body.required, true);
    t.same(Object.keys(body.content).sort(), ['image/jpeg', 'image/png', 'image/webp'], `${path}: the image types`);
    t.ok(
      Object.values(body.content).every((m) => m.schema.type === 'string' && m.schema.format === 'binary'),
      `${path}: as binary bodies`,
    );
  }
  for (const path of ['/v1/cameras/{id}/snapshot.jpg', '/v1/cameras/{id}/frame.jpg']) {
    const responses = doc.paths[path]!['get']!.responses;
    t.match(responses['200'], { content: { 'image/jpeg': { schema: { type: 'string', format: 'binary' } } } }, `${path}: a JPEG answer`);
    t.ok(responses['404']?.content?.['application/json'], `${path}: its errors are JSON`);
  }

  const viaKey = client(doc, base, KEY, 'apiKey');
  const viaBearer = client(doc, base, KEY, 'bearer');
  const still = (await photosOf(faces('avengers-stills', 'Chris Hemsworth')))[0]!;
  const png = await sharp(await readFile(still))
    .png()
    .toBuffer();
  for (const [call, name] of [
    [viaKey, 'x-api-key'],
    [viaBearer, 'bearer'],
  ] as const) {
    const answer = await call('post', '/v1/recognize', {}, { bytes: png, type: 'image/png' });
    t.equal(answer.status, 200, `${name}: recognize answers`);
    t.ok(answer.declaredTypes.includes(answer.type), `${name}: in a declared type (${answer.type})`);
    t.match(JSON.parse(answer.bytes.toString()), { faces: [{ actor: 'Chris Hemsworth' }] }, `${name}: the starter model names him`);
  }
  let snapshot = await viaKey('get', '/v1/cameras/{id}/snapshot.jpg', { id: 'pattern' });
  for (let i = 0; i < 60 && snapshot.status === 503; i++) {
    await new Promise((r) => setTimeout(r, 500));
    snapshot = await viaKey('get', '/v1/cameras/{id}/snapshot.jpg', { id: 'pattern' });
  }
  t.equal(snapshot.status, 200, 'the snapshot');
  t.same([snapshot.type, snapshot.bytes[0], snapshot.bytes[1]], ['image/jpeg', 0xff, 0xd8], 'a JPEG, as declared');
  t.ok(snapshot.declaredTypes.includes('image/jpeg'));
  const missing = await viaKey('get', '/v1/cameras/{id}/snapshot.jpg', { id: 'nope' });
  t.same([missing.status, missing.type], [404, 'application/json'], 'a missing camera: JSON, as declared');
  t.ok(missing.declaredTypes.includes('application/json'));
});

t.test('a multipart upload gets a 415 that says to send the raw bytes', async (t) => {
  const { daemon, base } = await startDaemon({});
  t.teardown(() => daemon.stop());
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#fff' } })
    .png()
    .toBuffer();
  for (const path of ['/v1/recognize', '/v1/enroll/faces']) {
    const form = new FormData();
    form.append('file', new Blob([png], { type: 'image/png' }), 'photo.png');
    const res = await fetch(`${base}${path}`, { method: 'POST', body: form });
    const body = (await res.json()) as { error: { code: string; message: string } };
    t.equal(res.status, 415, `${path}: 415`);
    t.match(
      body.error,
      {
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message:
          /multipart form is not taken here: send the image's raw bytes as the whole body with Content-Type image\/jpeg, image\/png or image\/webp \(curl --data-binary @photo\.jpg/,
      },
      `${path}: says what to send`,
    );
  }
  const json = await fetch(`${base}/v1/enroll`, { method: 'POST', body: new FormData() });
  t.match(await json.json(), { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: /send JSON/ } }, 'a JSON route asks for JSON');
  // The document lists the codes an error may carry: every one of the table, so a client can switch on them.
  const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
    components: { schemas: Record<string, { description?: string; properties: { error: { properties: { code: { enum?: string[] } } } } }> };
  };
  const error = Object.values(doc.components.schemas).find((s) => s.description === 'Every error answer.');
  const declared = error?.properties.error.properties.code.enum ?? [];
  t.same([...declared].sort(), Object.keys(HTTP_STATUS).sort(), 'Error.code is the enum of every code of src/errors.ts');
});
