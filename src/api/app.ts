// The fastify app: server limits, schemas, OpenAPI, API key and error handling, then every route (routes.ts); no knowledge of the daemon.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifySchema } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from '../logger.js';
import { SUPPORTED_TYPES } from '../vision/decode.js';
import { installApiKey } from './auth.js';
import type { Admission } from './admission.js';
import { clientErrorHandler, installErrorHandlers, installImageOnly } from './errors.js';
import { installHostCheck } from './hosts.js';
import { registerRoutes, type ApiDeps } from './routes.js';
import { ErrorBody, FaceSchema } from './schemas.js';
import { loadWebPage, pageUrls } from './web-routes.js';

const BINARY = { type: 'string', format: 'binary' };

/**
 * Documents what fastify's schemas cannot say without validating it: an image route's body is the
 * file's raw bytes (`consumes` image types), and an image answer (`produces: ['image/jpeg']`) is
 * JPEG bytes, its errors still JSON. Only the OpenAPI document changes, never validation.
 */
function documentBinary({ schema: fastifySchema, url }: { schema: FastifySchema; url: string }): { schema: FastifySchema; url: string } {
  const schema = fastifySchema as Record<string, unknown> | undefined;
  if (!schema) return { schema: fastifySchema, url };
  const consumes = schema['consumes'] as string[] | undefined;
  const produces = schema['produces'] as string[] | undefined;
  const out = { ...schema };
  if (consumes?.length && consumes.every((type) => type.startsWith('image/')) && !schema['body']) {
    out['body'] = { ...BINARY, description: "The image file's bytes as the whole body (not a multipart form)" };
  }
  if (produces?.length && produces.every((type) => type.startsWith('image/'))) {
    const responses = { ...((schema['response'] as Record<string, unknown> | undefined) ?? {}) };
    const json = (body: unknown) => ({
      description: (body as { description?: string }).description ?? 'An error',
      content: { 'application/json': { schema: body } },
    });
    for (const [status, body] of Object.entries(responses)) responses[status] = json(body);
    responses['200'] = {
      description: 'The frame as JPEG, boxes and names drawn',
      content: Object.fromEntries(produces.map((type) => [type, { schema: BINARY }])),
    };
    out['response'] = responses;
    delete out['produces'];
  }
  return { schema: out, url };
}

/** Connection limits against slow and half-sent requests (the `api` config's timeouts and cap). */
export interface ConnectionLimits {
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  keepAliveTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  maxConnections: number;
}

export interface ApiOptions {
  apiKey?: string;
  bodyLimitBytes: number;
  /** Host names besides IP literals, loopback and our own (api.allowedHosts). */
  allowedHosts?: readonly string[];
  /** Absent: Node's defaults (tests that only inject). */
  limits?: ConnectionLimits;
  /** Largest JSON body: JSON is parsed on the main thread, and no route takes more than a few KiB. */
  jsonBodyLimitBytes?: number;
  /** Bounds the image requests running and waiting (api.maxConcurrentImages, api.maxQueuedImages); absent: unbounded. */
  admission?: Admission;
  logger: Logger;
  version: string;
}

export async function buildApp(deps: ApiDeps, options: ApiOptions): Promise<FastifyInstance> {
  const limits = options.limits;
  const app: FastifyInstance = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimitBytes,
    // A line per request is noise on a device; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    clientErrorHandler,
    // fastify 5 sets no timeouts: 300 half-sent requests and a 1-byte-per-2-s upload stayed open for
    // ever, until /healthz failed for want of descriptors (issue 16).
    ...(limits && {
      requestTimeout: limits.requestTimeoutSeconds * 1000,
      keepAliveTimeout: limits.keepAliveTimeoutSeconds * 1000,
      connectionTimeout: limits.idleTimeoutSeconds * 1000,
      // Node looks for expired headers and requests every 30 s by default: too late for a 10 s bound.
      http: { headersTimeout: limits.headersTimeoutSeconds * 1000, connectionsCheckingInterval: 1000 },
    }),
  });
  if (limits) app.server.maxConnections = limits.maxConnections;
  installErrorHandlers(app);
  installHostCheck(app, options.allowedHosts ?? []);
  const page = await loadWebPage();
  if (page.files.length === 0) options.logger.warn({ dir: page.dir }, 'no web page files found: / is not served');
  installApiKey(app, options.apiKey, pageUrls(page));
  await app.register(swagger, {
    openapi: {
      info: { title: 'actor-recognizer', version: options.version, description: 'Recognizes actors in photos and live video.' },
      // The key goes in either header; both schemes are declared so that a generated client offers both.
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'api.apiKey, when the daemon has one' },
          bearer: { type: 'http', scheme: 'bearer', description: 'The same key as a bearer token' },
        },
      },
      security: options.apiKey ? [{ apiKey: [] }, { bearer: [] }] : [],
    },
    transform: documentBinary,
  });
  app.addSchema(ErrorBody);
  app.addSchema(FaceSchema);
  // Images arrive as raw bytes; anything else is refused with 415 by fastify before the handler.
  app.addContentTypeParser([...SUPPORTED_TYPES], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  // No route takes text; JSON bodies are small (a name, a list of ids).
  app.removeContentTypeParser(['text/plain', 'application/json']);
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: Math.min(options.jsonBodyLimitBytes ?? options.bodyLimitBytes, options.bodyLimitBytes) },
    app.getDefaultJsonParser('error', 'error'),
  );
  installImageOnly(app, options.bodyLimitBytes);
  await registerRoutes(app, deps, page, options.admission);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
