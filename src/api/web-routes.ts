// The web page: web/ at the package root, read once at startup and served at / and /ui/*, without a build step.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** One file of the page, ready to send. */
interface PageFile {
  url: string;
  type: string;
  body: Buffer;
  etag: string;
}

export interface WebPage {
  /** Where the files were read from. */
  dir: string;
  files: PageFile[];
}

/** The compiled module, dist/src/api/web-routes.js, sits three levels below the package root. */
export const WEB_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
};

/**
 * The page holds no data, only code: everything it shows comes from the API with the key. Nothing
 * is loaded from elsewhere, and images are the API's (blob: URLs) or thumbnails (data: URLs).
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * Reads every file of `dir` (not below it): index.html becomes `/`, any other file `/ui/<name>`.
 * A missing folder gives an empty page list (the API still runs), which the caller logs.
 */
export async function loadWebPage(dir = WEB_DIR): Promise<WebPage> {
  const names = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: PageFile[] = [];
  for (const entry of names) {
    const type = TYPES[path.extname(entry.name)];
    if (!entry.isFile() || !type) continue;
    const body = await readFile(path.join(dir, entry.name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.push({ url: entry.name === 'index.html' ? '/' : `/ui/${entry.name}`, type, body, etag });
  }
  return { dir, files };
}

/** The URLs the page is served at: open without the API key, since they hold no data. */
export function pageUrls(page: WebPage): string[] {
  return page.files.map((f) => f.url);
}

export async function webRoutes(app: FastifyInstance, page: WebPage): Promise<void> {
  for (const file of page.files) {
    app.get(file.url, { schema: { hide: true } }, async (request, reply) => {
      reply.headers({ ...SECURITY_HEADERS, 'cache-control': 'no-cache', etag: file.etag });
      if (request.headers['if-none-match'] === file.etag) return reply.status(304).send();
      return reply.type(file.type).send(file.body);
    });
  }
}
