// The API on a real socket: slow and half-sent requests are closed, connections are capped, and a foreign Host is refused (DNS rebinding).
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { buildApp, type ConnectionLimits } from '../src/api/app.js';
import { hostAllowed } from '../src/api/hosts.js';
import { silentLogger } from '../src/logger.js';
import type { Recognizer } from '../src/recognize/recognizer.js';

const LIMITS: ConnectionLimits = { headersTimeoutSeconds: 1, requestTimeoutSeconds: 2, keepAliveTimeoutSeconds: 1, idleTimeoutSeconds: 30, maxConnections: 8 };

async function listening(options: { limits?: ConnectionLimits; allowedHosts?: string[] } = {}) {
  const app = await buildApp(
    { recognizer: {} as Recognizer, models: { current: () => null, currentSource: () => null }, notReady: () => [] },
    { bodyLimitBytes: 1024 * 1024, logger: silentLogger(), version: 'test', ...options },
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { app, port };
}

/** Resolves with how long the server took to close `socket` (and what it said), or null after `ms`. */
function closedWithin(socket: Socket, ms: number): Promise<{ ms: number; said: string } | null> {
  const start = Date.now();
  let said = '';
  socket.on('data', (d: Buffer) => (said += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - start, said });
    });
    socket.on('error', () => undefined);
  });
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** GET /healthz through node:http, which sends the Host header given (fetch replaces it). */
function healthz(port: number, host = `127.0.0.1:${port}`): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

t.test('half-sent headers and a slow upload are closed; the connection cap holds and /healthz still answers', async (t) => {
  const { app, port } = await listening({ limits: LIMITS });
  t.teardown(() => app.close());

  const half = await open(port);
  half.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
  const halfClosed = await closedWithin(half, 6000);
  t.ok(halfClosed, `half-sent headers closed after ${halfClosed?.ms} ms`);

  const slow = await open(port);
  slow.write('POST /v1/model/reload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n');
  const drip = setInterval(() => slow.writable && slow.write(' '), 500);
  const slowClosed = await closedWithin(slow, 8000);
  clearInterval(drip);
  t.ok(slowClosed, `a body of 1 byte per 500 ms closed after ${slowClosed?.ms} ms`);
  t.match(slowClosed?.said ?? '', /^HTTP\/1.1 408 .*"code":"REQUEST_TIMEOUT"/s, 'with 408 in our vocabulary');

  const garbage = await open(port);
  garbage.write('GARBAGE\r\n\r\n');
  const refused = await closedWithin(garbage, 3000);
  t.match(refused?.said ?? '', /^HTTP\/1.1 400 .*"code":"BAD_REQUEST"/s, "a malformed request: 400 in our vocabulary, not fastify's");

  // Fill the cap with idle connections that did send their headers timely (so they are not reaped).
  const held: Socket[] = [];
  for (let i = 0; i < LIMITS.maxConnections; i++) held.push(await open(port));
  const extra = await open(port);
  t.ok(await closedWithin(extra, 2000), 'a connection over the cap is closed at once');
  held.forEach((s) => s.destroy());
  await new Promise((r) => setTimeout(r, 200));
  t.equal(await healthz(port), 200, '/healthz answers once the idle ones are gone');
});

t.test('the Host header: IP literals, loopback and configured names are served; a rebinding name is refused 403', async (t) => {
  const { app, port } = await listening({ allowedHosts: ['tv-room.example', '.home.arpa'] });
  t.teardown(() => app.close());
  t.equal(await healthz(port, 'rebind.attacker.example'), 403, 'a foreign name');
  const res = await app.inject({ url: '/v1/model', headers: { host: 'rebind.attacker.example:8080' } });
  t.equal(res.statusCode, 403);
  t.equal(res.json().error.code, 'HOST_NOT_ALLOWED');
  for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', '192.168.1.20', 'tv-room.example:8080', 'pi.home.arpa', 'app.localhost']) {
    t.equal((await app.inject({ url: '/v1/model', headers: { host } })).statusCode, 200, host);
  }
  t.notOk(hostAllowed([])('localhost.attacker.example'), 'a name that only starts like localhost');
  t.notOk(hostAllowed([])('tv-room.example'), 'not configured: refused');
  t.ok(hostAllowed(['*'])('anything.example'), '"*" takes any name');
});
