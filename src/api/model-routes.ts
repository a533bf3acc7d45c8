// Routes that manage the actor model: the versions held, rollback, reload (GET /v1/models and friends).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ErrorCode } from '../errors.js';
import { sendError } from './errors.js';
import { ErrorBody } from './schemas.js';

/** A refusal as the API shows it. */
const RefusalSchema = Type.Object({
  version: Type.Union([Type.String(), Type.Null()]),
  code: Type.String(),
  reason: Type.String(),
  source: Type.String(),
  at: Type.String({ format: 'date-time' }),
});

const SourceStatus = Type.Object(
  {
    uri: Type.String(),
    state: Type.String({ description: 'starting, ok, empty (nothing published yet) or unreachable (the running model keeps serving).' }),
    pointerVersion: Type.Union([Type.String(), Type.Null()]),
    lastCheckAt: Type.Union([Type.String(), Type.Null()]),
    lastError: Type.Union([Type.String(), Type.Null()]),
    failures: Type.Integer(),
    nextCheckAt: Type.Union([Type.String(), Type.Null()]),
    lastDownload: Type.Union([
      Type.Object({
        version: Type.String(),
        bytes: Type.Integer(),
        downloadMs: Type.Number(),
        installMs: Type.Number({ description: 'Verification and swap.' }),
        ok: Type.Boolean(),
      }),
      Type.Null(),
    ]),
  },
  { description: 'The S3 source, when model.s3 is set.' },
);

export const ModelsReply = Type.Object({
  dir: Type.String(),
  layout: Type.String({ description: 'store: a folder of versions managed by the daemon; bundle: one bundle, loaded as it is.' }),
  running: Type.Union([
    Type.Object({
      version: Type.String(),
      actors: Type.Array(Type.String()),
      loadedAt: Type.String({ format: 'date-time' }),
      source: Type.Union([Type.String(), Type.Null()]),
      inFlight: Type.Integer(),
    }),
    Type.Null(),
  ]),
  held: Type.Array(Type.Object({ version: Type.String(), createdAt: Type.String(), installedAt: Type.String(), running: Type.Boolean() }), {
    description: 'Versions on disk, newest arrival first; any can be activated.',
  }),
  refusals: Type.Array(RefusalSchema, { description: 'Bundles refused since the daemon started, newest first, with the reason.' }),
  s3: Type.Union([SourceStatus, Type.Null()]),
  starter: Type.Union([Type.Object({ version: Type.String(), running: Type.Boolean() }), Type.Null()], {
    description: 'The starter model of well-known actors, once it has run (while model.dir held no model); it can be activated like a held version.',
  }),
});

const SwapReply = Type.Object({ version: Type.Union([Type.String(), Type.Null()]), changed: Type.Boolean() });

type Result = { ok: true; version: string | null; changed: boolean } | { ok: false; refusal: { code: ErrorCode; reason: string } };

/** The slice of the model store the routes need. */
export interface ModelControl {
  status(): Promise<unknown>;
  activate(version: string): Promise<Result>;
  /** Looks for new bundles now (the store's folder, S3) and runs the newest that verifies. */
  reload(): Promise<Result>;
}

const errors = { 404: ErrorBody, 422: ErrorBody, 507: ErrorBody };

function answer(result: Result, reply: FastifyReply) {
  if (result.ok) return { version: result.version, changed: result.changed };
  return sendError(reply, result.refusal.code, result.refusal.reason);
}

export async function modelRoutes(app: FastifyInstance, control: ModelControl): Promise<void> {
  app.get(
    '/v1/models',
    { schema: { summary: 'The actor model versions held, which one runs, and why any was refused', response: { 200: ModelsReply } } },
    async () => control.status(),
  );

  app.post(
    '/v1/model/activate',
    {
      schema: {
        summary: 'Runs a held version (rollback); it is verified again first',
        body: Type.Object({ version: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
        response: { 200: SwapReply, ...errors },
      },
    },
    async (request, reply) => answer(await control.activate((request.body as { version: string }).version), reply),
  );

  app.post(
    '/v1/model/reload',
    { schema: { summary: 'Looks for a new bundle now (model folder and S3) and runs it if it verifies', response: { 200: SwapReply, ...errors } } },
    async (_request, reply) => answer(await control.reload(), reply),
  );
}
