// API key check: every route but health and readiness needs the key when one is configured.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendError } from './errors.js';

const OPEN = new Set(['/healthz', '/readyz']);

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function presented(request: FastifyRequest): string | undefined {
  const header = request.headers['x-api-key'];
  if (typeof header === 'string') return header;
  const auth = request.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
}

/**
 * Installs the check as the first hook, so it runs for unknown routes too: a caller without the key
 * learns nothing about which routes exist. Digests are compared in constant time. `open`: more
 * exact paths served without the key (the web page's files, which hold no data).
 */
export function installApiKey(app: FastifyInstance, apiKey: string | undefined, open: readonly string[] = []): void {
  if (!apiKey) return;
  const expected = digest(apiKey);
  const unguarded = new Set([...OPEN, ...open]);
  app.addHook('onRequest', async (request, reply) => {
    if (unguarded.has(request.url.split('?')[0]!)) return;
    const key = presented(request);
    if (key !== undefined && timingSafeEqual(digest(key), expected)) return;
    return sendError(reply.header('www-authenticate', 'Bearer'), 'UNAUTHORIZED', 'a valid API key is required');
  });
}
