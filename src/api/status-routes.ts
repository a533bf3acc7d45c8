// What the web page reads besides the live routes: health in one JSON, the hour's appearances, the next frame.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Appearance } from '../track/appearance-log.js';
import type { CameraStatus, LiveFace } from '../track/camera-worker.js';
import type { FrameStats } from '../track/frame-feed.js';
import type { RgbImage } from '../vision/types.js';
import { annotate } from './live-routes.js';
import { sendError } from './errors.js';
import { ErrorBody } from './schemas.js';

/** The slice of the daemon these routes need. */
export interface StatusDeps {
  cameras(): { status(): CameraStatus; snapshot(): { image: RgbImage; faces: LiveFace[] } | undefined }[];
  frames: { stats(camera: string): FrameStats; next(camera: string, after: number, timeoutMs: number, signal?: AbortSignal): Promise<number> };
  appearances: { list(): Appearance[] };
  mqtt(): { url: string | null; connected: boolean; published: number; failed: number; dropped: number } | null;
  model(): { version: string } | null;
  notReady(): string[];
}

/** A waiting client gets an answer at least this often, so proxies and browsers never time it out. */
const LONG_POLL_MS = 25_000;

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);
const StatusReply = Type.Object({
  ready: Type.Boolean(),
  reasons: Type.Array(Type.String()),
  uptimeSeconds: Type.Number(),
  memory: Type.Object({ rssMiB: Type.Number(), heapUsedMiB: Type.Number() }),
  model: Nullable(Type.Object({ version: Type.String() })),
  mqtt: Nullable(
    Type.Object({ url: Nullable(Type.String()), connected: Type.Boolean(), published: Type.Integer(), failed: Type.Integer(), dropped: Type.Integer() }),
  ),
  cameras: Type.Array(
    Type.Object({
      id: Type.String(),
      state: Type.String(),
      reason: Nullable(Type.String()),
      fpsConfigured: Type.Number(),
      fpsIn: Type.Number(),
      fpsProcessed: Type.Number(),
      framesIn: Type.Integer(),
      framesProcessed: Type.Integer(),
      framesDropped: Type.Integer(),
      restarts: Type.Integer(),
      lastFrameAt: Nullable(Type.String()),
      latencyMs: Nullable(
        Type.Object({ mean: Type.Number(), max: Type.Number() }, { description: 'From a frame leaving ffmpeg to its faces tracked, over the last 30 frames' }),
      ),
    }),
  ),
});
const AppearanceSchema = Type.Object({
  camera: Type.String(),
  trackId: Type.Integer(),
  actor: Nullable(Type.String()),
  confidence: Type.Number(),
  start: Type.String({ format: 'date-time' }),
  end: Nullable(Type.String({ format: 'date-time' })),
});
const MiB = 1024 * 1024;

/** The status routes, as a fastify plugin (registered in daemon.ts). */
export async function statusRoutes(app: FastifyInstance, deps: StatusDeps): Promise<void> {
  app.get(
    '/v1/status',
    { schema: { summary: 'Health in one answer: readiness, frame rates, drops, latency, restarts, MQTT, memory', response: { 200: StatusReply } } },
    async () => {
      const reasons = deps.notReady();
      const memory = process.memoryUsage();
      const model = deps.model();
      return {
        ready: reasons.length === 0,
        reasons,
        uptimeSeconds: Math.round(process.uptime()),
        memory: { rssMiB: Math.round(memory.rss / MiB), heapUsedMiB: Math.round(memory.heapUsed / MiB) },
        model: model ? { version: model.version } : null,
        mqtt: deps.mqtt(),
        cameras: deps.cameras().map((c) => {
          const { url: _url, width: _w, height: _h, actors: _a, faces: _f, ...s } = c.status();
          return { ...s, latencyMs: deps.frames.stats(s.id).latencyMs };
        }),
      };
    },
  );

  app.get(
    '/v1/appearances',
    {
      schema: {
        summary: 'Appearances of the last hour on every camera, oldest first (end null: still on screen)',
        response: { 200: Type.Object({ appearances: Type.Array(AppearanceSchema) }) },
      },
    },
    async () => ({
      appearances: deps.appearances.list(),
    }),
  );

  // Waiting clients are answered at once on close, or app.close() would wait for every long poll.
  const waiting = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const w of waiting) w.abort();
  });
  app.get<{ Params: { id: string }; Querystring: { after?: number } }>(
    '/v1/cameras/:id/frame.jpg',
    {
      schema: {
        summary: 'The next analysed frame after frame number `after`, boxes and names drawn; waits for it (204 after 25 s without one)',
        description:
          'The answer carries its frame number in the x-frame header: ask again with after=that number. A client so follows the camera at its own pace, without polling.',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        querystring: Type.Object({ after: Type.Optional(Type.Integer({ minimum: 0, default: 0 })) }),
        produces: ['image/jpeg'],
        response: { 404: ErrorBody },
      },
    },
    async (request, reply) => {
      const camera = deps.cameras().find((c) => c.status().id === request.params.id);
      if (!camera) return sendError(reply, 'CAMERA_NOT_FOUND', `no camera ${JSON.stringify(request.params.id)}`);
      const abort = new AbortController();
      waiting.add(abort);
      reply.raw.once('close', () => abort.abort());
      try {
        const frame = await deps.frames.next(request.params.id, request.query.after ?? 0, LONG_POLL_MS, abort.signal);
        const shot = camera.snapshot();
        if (frame === (request.query.after ?? 0) || !shot || abort.signal.aborted) return reply.status(204).header('x-frame', String(frame)).send();
        return reply
          .type('image/jpeg')
          .header('cache-control', 'no-store')
          .header('x-frame', String(frame))
          .send(await annotate(shot.image, shot.faces));
      } finally {
        waiting.delete(abort);
      }
    },
  );
}
