// The app's own routes: health, readiness, naming the faces of an image, the running model.
import type { FastifyInstance } from 'fastify';
import type { ActorModel } from '../recognize/actor-model.js';
import type { Recognizer } from '../recognize/recognizer.js';
import { SUPPORTED_TYPES } from '../vision/decode.js';
import type { Admission } from './admission.js';
import { refuseNonImage } from './errors.js';
import { ErrorBody, HealthReply, ModelReply, ReadyReply, RecognizeReply } from './schemas.js';

/** The slice of the daemon these routes need. */
export interface CoreDeps {
  recognizer: Recognizer;
  models: { current(): ActorModel | null; currentSource(): string | null };
  /** Reasons the daemon is not ready; empty when it is. */
  notReady(): string[];
  /** Bounds the image requests running and waiting; absent: unbounded. */
  admission?: Admission;
}

const errors = { 400: ErrorBody, 401: ErrorBody, 413: ErrorBody, 415: ErrorBody, 500: ErrorBody, 503: ErrorBody };

export async function coreRoutes(app: FastifyInstance, deps: CoreDeps): Promise<void> {
  const admitted = <T>(work: () => Promise<T>): Promise<T> => (deps.admission ? deps.admission.run(work) : work());
  // `security: []`: open without the key (src/api/auth.ts), as the document says.
  app.get('/healthz', { schema: { summary: 'Alive', security: [], response: { 200: HealthReply } } }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    { schema: { summary: 'Ready to serve: a model is loaded and the cameras are started', security: [], response: { 200: ReadyReply, 503: ReadyReply } } },
    async (_request, reply) => {
      const reasons = deps.notReady();
      return reply.status(reasons.length ? 503 : 200).send({ ready: reasons.length === 0, reasons });
    },
  );

  app.post(
    '/v1/recognize',
    {
      schema: {
        summary: 'Names every face in an image',
        description: 'The body is the image itself: Content-Type image/jpeg, image/png or image/webp.',
        consumes: [...SUPPORTED_TYPES],
        response: { 200: RecognizeReply, ...errors },
      },
    },
    async (request, reply) => {
      const refused = refuseNonImage(request, reply);
      if (refused) return refused;
      const body = request.body as Buffer | undefined;
      const result = await admitted(() => deps.recognizer.recognizeBytes(body ?? Buffer.alloc(0), { fallback: 'retry' }));
      return { faces: result.faces, model: { version: result.model?.version ?? null } };
    },
  );

  app.get('/v1/model', { schema: { summary: 'The running actor model', response: { 200: ModelReply } } }, async () => {
    const model = deps.models.current();
    return {
      version: model?.version ?? null,
      actors: model ? [...model.actors] : [],
      loadedAt: model?.loadedAt.toISOString() ?? null,
      source: deps.models.currentSource(),
    };
  });
}
