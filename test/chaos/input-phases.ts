// Hostile input: fuzzed bodies and bombs, slow-loris, concurrency, and the route × key matrix with traversal.
import { connect, type Socket } from 'node:net';
import sharp from 'sharp';
import { hugeBlankPng } from '../helpers/images.js';
import { codeOf, percentile, pool, send, sleep, type Answer, type Call, type Tally } from './client.js';
import { SECRETS, type Target } from './target.js';

const KEY = { 'x-api-key': SECRETS.apiKey };

/** A seeded generator, so that a failing run can be replayed. */
export function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

export async function samplePhoto(): Promise<Buffer> {
  const { data, info } = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#876' } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  for (let i = 0; i < data.length; i++) data[i] = (data[i]! + ((i * 37) % 61)) & 0xff;
  return sharp(data, { raw: info }).resize(640, 480).jpeg({ quality: 80 }).toBuffer();
}

/** `count` hostile requests (random bytes, mutated images, wrong types, odd JSON) over every route that takes a body. */
export async function hostileBodies(target: Target, tally: Tally, count: number, seed: number): Promise<void> {
  const rnd = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
  const photo = await samplePhoto();
  const png = await sharp(photo).png().toBuffer();
  const routes = [
    '/v1/recognize',
    '/v1/enroll/faces',
    '/v1/enroll',
    '/v1/model/activate',
    '/v1/unknowns/x1/enroll',
    '/v1/model/reload',
    '/v1/cameras/nope/restart',
  ];
  const types = ['image/jpeg', 'image/png', 'image/webp', 'application/json', 'text/plain', 'multipart/form-data; boundary=x', 'application/octet-stream', ''];
  const bodies: (() => Buffer | string)[] = [
    () => Buffer.from(Array.from({ length: Math.floor(rnd() * 65536) }, () => Math.floor(rnd() * 256))),
    () => mutate(rnd() < 0.5 ? photo : png, rnd),
    () => (rnd() < 0.5 ? photo : png).subarray(0, Math.floor(rnd() * photo.length)),
    () => '{"name": "' + 'A'.repeat(Math.floor(rnd() * 200)) + '", "faces": ["x"]}',
    () => '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "version": "x"}',
    () => '['.repeat(50_000) + ']'.repeat(50_000),
    () => '{"version": ' + '9'.repeat(5000) + '}',
    () => '{"name": "\u0000\ud800../../etc/passwd", "faces": []}',
    () => '',
  ];
  const jobs = Array.from({ length: count }, (_, i) => async () => {
    const type = pick(types);
    const call: Call = {
      method: 'POST',
      path: pick(routes),
      body: pick(bodies)(),
      headers: { ...KEY, ...(type ? { 'content-type': type } : {}) },
      timeoutMs: 30_000,
    };
    // The route that deletes takes a name in its path: a random one the model does not have.
    if (i % 25 === 0)
      Object.assign(call, { method: 'DELETE', path: `/v1/model/actors/${encodeURIComponent(`nobody-${Math.floor(rnd() * 1e6)}`)}`, body: undefined });
    tally.record(await send(target.port, call), `hostile ${call.method} ${call.path}`);
  });
  await pool(jobs, 8);
}

function mutate(bytes: Buffer, rnd: () => number): Buffer {
  const out = Buffer.from(bytes);
  for (let k = 0; k < 1 + Math.floor(rnd() * 20); k++) out[Math.floor(rnd() * out.length)] = Math.floor(rnd() * 256);
  return out;
}

/** Asks /healthz every 100 ms until stopped; `stop()` resolves with the slowest answer (Infinity for a failed one). */
function watchHealthz(target: Target, tally: Tally, what: string): { stop(): Promise<number> } {
  let done = false;
  const times: number[] = [];
  const loop = (async () => {
    while (!done) {
      const answer = tally.record(await send(target.port, { path: '/healthz' }), `healthz during ${what}`);
      times.push(answer.status === 200 ? answer.ms : Infinity);
      await sleep(100);
    }
  })();
  return {
    async stop() {
      done = true;
      await loop;
      return Math.max(0, ...times);
    },
  };
}

/** Decompression bombs and a 20 MB JSON: RSS growth while they are in, and /healthz meanwhile. */
export async function bombs(target: Target, tally: Tally, copies: number): Promise<{ growthMiB: number; healthzMaxMs: number; answers: string }> {
  const before = target.memory().rssMiB;
  let max = before;
  const sampler = setInterval(() => (max = Math.max(max, target.memory().rssMiB)), 25);
  const bomb = hugeBlankPng(6000);
  const calls: Call[] = [
    ...Array.from({ length: copies }, () => ({ method: 'POST', path: '/v1/recognize', body: bomb, headers: { ...KEY, 'content-type': 'image/png' } })),
    { method: 'POST', path: '/v1/recognize', body: hugeBlankPng(20000), headers: { ...KEY, 'content-type': 'image/png' } },
    {
      method: 'POST',
      path: '/v1/recognize',
      body: JSON.stringify({ data: 'x'.repeat(20 * 1024 * 1024 - 100) }),
      headers: { ...KEY, 'content-type': 'application/json' },
    },
  ];
  const health = watchHealthz(target, tally, 'bombs');
  const answers = await Promise.all(
    calls.map(async (call, i) => {
      const answer = await send(target.port, { ...call, timeoutMs: 120_000 });
      // The 20 MB JSON is refused from its headers: when the daemon answers 415 while the body is
      // still on its way, Node closes the connection (it has no lingering close) and the kernel's
      // reset can beat the answer to the client. Refused either way, and never parsed.
      if (i === calls.length - 1 && answer.status === 0) return { ...answer, body: '{"error":{"code":"closed before the body was sent"}}' };
      return tally.record(answer, 'bomb');
    }),
  );
  const healthzMaxMs = await health.stop();
  clearInterval(sampler);
  return { growthMiB: max - before, healthzMaxMs, answers: answers.map((a) => `${a.status} ${codeOf(a) ?? ''}`.trim()).join(', ') };
}

/** `sockets` connections that send their headers a byte at a time, and one slow upload: all must be closed by the server. */
export async function slowLoris(
  target: Target,
  tally: Tally,
  sockets: number,
  limitMs: number,
): Promise<{ closed: number; opened: number; healthzMaxMs: number }> {
  const open: Promise<boolean>[] = [];
  const drips: NodeJS.Timeout[] = [];
  const all: Socket[] = [];
  for (let i = 0; i < sockets; i++) {
    const socket = connect(target.port, '127.0.0.1');
    all.push(socket);
    socket.on('error', () => undefined);
    const upload = i === 0;
    socket.write(
      upload
        ? `POST /v1/recognize HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: ${SECRETS.apiKey}\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n`
        : 'GET /v1/cameras HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ',
    );
    drips.push(setInterval(() => socket.writable && socket.write('a'), 1000));
    open.push(new Promise((resolve) => socket.once('close', () => resolve(true))));
  }
  const health = watchHealthz(target, tally, 'slow-loris');
  const deadline = Date.now() + limitMs;
  let closedCount = 0;
  void Promise.all(open.map((p) => p.then(() => closedCount++)));
  while (Date.now() < deadline && closedCount < sockets) await sleep(100);
  const healthzMaxMs = await health.stop();
  drips.forEach(clearInterval);
  all.forEach((s) => s.destroy());
  return { closed: closedCount, opened: sockets, healthzMaxMs };
}

/** `n` images at once: answered or refused 503 with Retry-After, never a failure; /healthz quick meanwhile. */
export async function concurrency(target: Target, tally: Tally, n: number): Promise<{ ok: number; busy: number; maxMs: number; healthzMaxMs: number }> {
  const photo = await samplePhoto();
  const health = watchHealthz(target, tally, 'concurrency');
  const answers = await Promise.all(
    Array.from({ length: n }, async () =>
      tally.record(
        await send(target.port, { method: 'POST', path: '/v1/recognize', body: photo, headers: { ...KEY, 'content-type': 'image/jpeg' } }),
        'concurrent recognize',
      ),
    ),
  );
  const healthzMaxMs = await health.stop();
  return {
    ok: answers.filter((a) => a.status === 200).length,
    busy: answers.filter((a) => codeOf(a) === 'BUSY').length,
    maxMs: Math.max(...answers.map((a) => a.ms)),
    healthzMaxMs,
  };
}

/** Keys a caller without the right one might try. */
const WRONG_KEYS: Record<string, string>[] = [
  {},
  { 'x-api-key': 'wrong' },
  { 'x-api-key': '' },
  { 'x-api-key': SECRETS.apiKey.toUpperCase() },
  { 'x-api-key': `${SECRETS.apiKey}\u00e9` },
  { authorization: `Basic ${Buffer.from(`x:${SECRETS.apiKey}`).toString('base64')}` },
  { authorization: 'Bearer ' },
  { authorization: `bearer ${SECRETS.apiKey}x` },
  { 'x-api-key': 'k'.repeat(8000) },
  { cookie: `apiKey=${SECRETS.apiKey}` },
  { 'x-api-key': SECRETS.apiKey.slice(0, -1) },
];

const TRAVERSAL = [
  '/ui/../../../etc/passwd',
  '/ui/..%2f..%2f..%2fetc%2fpasswd',
  '/ui/%2e%2e/%2e%2e/package.json',
  '/v1/cameras/..%2f..%2fetc/snapshot.jpg',
  '/ui/..\\..\\config.json',
  '//etc/passwd',
  '/v1/unknowns/..%2F..%2F/faces',
  '/ui/%00index.html',
];

/** Every route of /openapi.json × every wrong key: 401 for all but the open ones; traversal with the key: never a file. */
export async function routeKeyMatrix(
  target: Target,
  tally: Tally,
): Promise<{ routes: number; keys: number; unauthorized: number; leaks: string[]; traversal: string }> {
  const doc = JSON.parse((await send(target.port, { path: '/openapi.json', headers: KEY })).body) as {
    paths: Record<string, Record<string, { security?: unknown[] }>>;
  };
  const open = new Set(['/healthz', '/readyz']);
  const routes = Object.entries(doc.paths).flatMap(([p, methods]) =>
    Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path: p.replace(/\{[^}]+\}/g, 'file') })),
  );
  const leaks: string[] = [];
  let unauthorized = 0;
  const jobs = routes.flatMap((route) =>
    WRONG_KEYS.map((headers) => async () => {
      const answer = tally.record(
        await send(target.port, {
          method: route.method,
          path: route.path,
          headers: { ...headers, ...(route.method === 'GET' ? {} : { 'content-type': 'application/json' }) },
          body: route.method === 'GET' ? undefined : '{}',
          timeoutMs: 10_000,
        }),
        `matrix ${route.method} ${route.path}`,
      );
      if (answer.status === 401) unauthorized++;
      else if (!open.has(route.path)) leaks.push(`${route.method} ${route.path} with ${JSON.stringify(headers).slice(0, 40)}: ${answer.status}`);
    }),
  );
  await pool(jobs, 8);
  const traversal: Answer[] = [];
  for (const p of TRAVERSAL) traversal.push(tally.record(await send(target.port, { path: p, headers: KEY }), `traversal ${p}`));
  traversal.forEach((a, i) => {
    if (a.status === 200 || /root:x:0:0|"dependencies"|apiKey/.test(a.body)) leaks.push(`traversal ${TRAVERSAL[i]}: ${a.status}`);
  });
  const statuses = new Map<number, number>();
  for (const a of traversal) statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
  return { routes: routes.length, keys: WRONG_KEYS.length, unauthorized, leaks, traversal: [...statuses].map(([s, n]) => `${s} ×${n}`).join(', ') };
}

export { percentile };
