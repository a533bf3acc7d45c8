// The Host header check against DNS rebinding: a web page on another site must not reach the API through a name that resolves to us.
import { isIP } from 'node:net';
import os from 'node:os';
import type { FastifyInstance } from 'fastify';
import { sendError } from './errors.js';

/**
 * The host names a request may name besides IP literals: `localhost` (and `*.localhost`), this
 * machine's own name and `<name>.local`, and `configured` (an entry with a leading dot also takes
 * its subdomains; `*` takes any name). A rebinding attack needs a name the attacker controls that
 * resolves to us, so an IP literal, a loopback name or our own name is never one.
 */
export function hostAllowed(configured: readonly string[]): (host: string | undefined) => boolean {
  if (configured.includes('*')) return () => true;
  const own = os.hostname().toLowerCase();
  const exact = new Set(['localhost', own, `${own}.local`, ...configured.filter((h) => !h.startsWith('.')).map((h) => h.toLowerCase())]);
  const suffixes = ['.localhost', ...configured.filter((h) => h.startsWith('.')).map((h) => h.toLowerCase())];
  return (header) => {
    // HTTP/1.0 clients may send none; browsers, the only rebinding vector, always do.
    if (header === undefined || header === '') return true;
    const name = hostName(header.toLowerCase());
    if (name === undefined) return false;
    if (isIP(name)) return true;
    const bare = name.endsWith('.') ? name.slice(0, -1) : name;
    return exact.has(bare) || suffixes.some((s) => bare.endsWith(s));
  };
}

/** The name of a Host header without its port: `[::1]:8080` → `::1`, `a.b:80` → `a.b`. */
function hostName(header: string): string | undefined {
  if (header.startsWith('[')) {
    const end = header.indexOf(']');
    return end > 0 ? header.slice(1, end) : undefined;
  }
  const colon = header.lastIndexOf(':');
  return colon >= 0 ? header.slice(0, colon) : header;
}

/** Answers 403 HOST_NOT_ALLOWED, before the API key and on every route, to a Host that is not ours. */
export function installHostCheck(app: FastifyInstance, configured: readonly string[]): void {
  const allowed = hostAllowed(configured);
  app.addHook('onRequest', async (request, reply) => {
    if (allowed(request.headers.host)) return;
    return sendError(reply, 'HOST_NOT_ALLOWED', "this Host header is not one of the API's names: add it to api.allowedHosts");
  });
}
