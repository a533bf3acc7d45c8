// Live routes: cameras and their latest results, annotated snapshots, server-sent events, metrics.
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { Type } from '@sinclair/typebox';
import type { EventBus } from '../events/event-bus.js';
import { ErrorBody } from './schemas.js';
import { errorBody } from '../errors.js';
import { sendError } from './errors.js';
import type { CameraStatus, LiveFace } from '../track/camera-worker.js';
import { loadSharp } from '../vision/sharp.js';
import type { RgbImage } from '../vision/types.js';

/** The slice of the daemon these routes need. */
export interface LiveDeps {
  cameras(): { status(): CameraStatus; snapshot(): { image: RgbImage; faces: LiveFace[] } | undefined; restart(): void }[];
  bus: EventBus;
  /** Prometheus text and its content type. */
  metrics(): Promise<{ text: string; contentType: string }>;
}

const Box = Type.Object({ x: Type.Number(), y: Type.Number(), width: Type.Number(), height: Type.Number() });
const LiveFaceSchema = Type.Object({
  box: Box,
  actor: Type.Union([Type.String(), Type.Null()]),
  confidence: Type.Number(),
  trackId: Type.Union([Type.Integer(), Type.Null()]),
});
const NullableInt = () => Type.Union([Type.Integer(), Type.Null()]);
const CameraReply = Type.Object({
  id: Type.String(),
  url: Type.String({ description: 'With credentials redacted' }),
  state: Type.String({ description: 'starting, running, restarting, failed or stopped' }),
  reason: Type.Union([Type.String(), Type.Null()]),
  width: NullableInt(),
  height: NullableInt(),
  fpsConfigured: Type.Number(),
  fpsIn: Type.Number({ description: 'Frames per second read from ffmpeg, over the last 5 s' }),
  fpsProcessed: Type.Number({ description: 'Frames per second analysed, over the last 5 s' }),
  framesIn: Type.Integer(),
  framesProcessed: Type.Integer(),
  framesDropped: Type.Integer(),
  restarts: Type.Integer(),
  lastFrameAt: Type.Union([Type.String(), Type.Null()]),
  actors: Type.Array(Type.String()),
  faces: Type.Array(LiveFaceSchema),
});
const NotFound = ErrorBody;
const Params = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** The live routes, as a fastify plugin (registered in daemon.ts). */
export async function liveRoutes(app: FastifyInstance, deps: LiveDeps): Promise<void> {
  const find = (id: string) => deps.cameras().find((c) => c.status().id === id);
  const notFound = (id: string) => errorBody('CAMERA_NOT_FOUND', `no camera ${JSON.stringify(id)}`);

  app.get(
    '/v1/cameras',
    { schema: { summary: 'Every camera: state, frame rates, drops, latest faces', response: { 200: Type.Object({ cameras: Type.Array(CameraReply) }) } } },
    async () => ({
      cameras: deps.cameras().map((c) => c.status()),
    }),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/cameras/:id',
    { schema: { summary: 'One camera', params: Params, response: { 200: CameraReply, 404: NotFound } } },
    async (request, reply) => {
      const camera = find(request.params.id);
      return camera ? camera.status() : reply.status(404).send(notFound(request.params.id));
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/cameras/:id/restart',
    {
      schema: {
        summary: "Restarts the camera's ffmpeg now, backoff reset (a failed camera is also retried on its own, every ingest.failedRetrySeconds)",
        params: Params,
        response: { 202: Type.Object({ id: Type.String(), state: Type.String() }), 404: NotFound },
      },
    },
    async (request, reply) => {
      const camera = find(request.params.id);
      if (!camera) return reply.status(404).send(notFound(request.params.id));
      camera.restart();
      return reply.status(202).send({ id: request.params.id, state: camera.status().state });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/cameras/:id/snapshot.jpg',
    {
      schema: {
        summary: 'The latest analysed frame with boxes and names drawn',
        params: Params,
        produces: ['image/jpeg'],
        response: { 404: NotFound, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const camera = find(request.params.id);
      if (!camera) return reply.status(404).send(notFound(request.params.id));
      const shot = camera.snapshot();
      if (!shot) return sendError(reply.header('retry-after', '1'), 'NO_FRAME_YET', 'no frame analysed yet on this camera');
      return reply
        .type('image/jpeg')
        .header('cache-control', 'no-store')
        .send(await annotate(shot.image, shot.faces));
    },
  );

  const streams = new Set<ServerResponse>();
  app.get(
    '/v1/events',
    {
      schema: {
        summary: 'Server-sent events: appearance, actors, model and modelRefused, as on P/<camera>/events, P/<camera>/actors, P/model and P/model/refused',
        produces: ['text/event-stream'],
      },
    },
    (request, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      res.write(': connected\n\n');
      streams.add(res);
      const write = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      const offs = [
        deps.bus.on('appearance', ({ frameReceivedAt: _f, ...e }) => write('appearance', e)),
        deps.bus.on('actors', ({ frameReceivedAt: _f, ...a }) => write('actors', a)),
        // The page reads the model again on either (web/model.js), whoever changed it.
        deps.bus.on('model', (m) => write('model', m)),
        deps.bus.on('modelRefused', (r) => write('modelRefused', r)),
      ];
      // Proxies close idle connections; a comment now and then keeps the stream open.
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      request.raw.on('close', () => {
        clearInterval(heartbeat);
        for (const off of offs) off();
        streams.delete(res);
      });
    },
  );
  // Open event streams would hold app.close() forever.
  app.addHook('preClose', async () => {
    for (const res of streams) res.end();
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', produces: ['text/plain'] } }, async (_request, reply) => {
    const { text, contentType } = await deps.metrics();
    return reply.type(contentType).send(text);
  });
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The frame as JPEG with a box per face: green for a named actor, amber for unknown. */
export async function annotate(image: RgbImage, faces: LiveFace[]): Promise<Buffer> {
  const { width, height } = image;
  const font = Math.max(14, Math.round(width / 40));
  const shapes = faces.map((f) => {
    const colour = f.actor ? '#2ecc40' : '#ffb000';
    const label = escapeXml(`${f.actor ?? 'unknown'}${f.actor ? ` ${(f.confidence * 100).toFixed(0)}%` : ''}`);
    const { x, y, width: w, height: h } = f.box;
    // The label sits on a filled band above the box (below it at the top edge), readable on any picture.
    const band = font + 8;
    const by = y >= band ? y - band : y + h;
    const bw = Math.min(width - x, label.length * font * 0.6 + 8);
    return `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="${colour}" stroke-width="3"/><rect x="${x - 1.5}" y="${by}" width="${bw}" height="${band}" fill="${colour}"/><text x="${x + 4}" y="${by + font + 2}" font-family="sans-serif" font-size="${font}" fill="black">${label}</text>`;
  });
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes.join('')}</svg>`);
  const sharp = await loadSharp();
  return sharp(image.data, { raw: { width, height, channels: 3 } })
    .composite([{ input: svg, top: 0, left: 0 }])
    .jpeg({ quality: 85 })
    .toBuffer();
}
