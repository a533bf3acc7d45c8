// Enrollment on the device: find faces (in photos or a camera's frame), name them, add them to the model.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { RecognizerError } from '../errors.js';
import { validateName, type Enroller, type EnrollOutcome, type RemoveOutcome } from '../models/enroll.js';
import type { PendingFaces } from '../recognize/pending-faces.js';
import type { Recognizer } from '../recognize/recognizer.js';
import type { UnknownFaces } from '../track/unknown-faces.js';
import { decodeImage, SUPPORTED_TYPES } from '../vision/decode.js';
import type { RgbImage } from '../vision/types.js';
import type { Admission } from './admission.js';
import { refuseNonImage, sendError } from './errors.js';
import { BoxSchema, ErrorBody } from './schemas.js';

/** The slice of the daemon these routes need. */
export interface EnrollDeps {
  recognizer: Recognizer;
  pending: PendingFaces;
  enroller: Enroller;
  unknowns: Pick<UnknownFaces, 'list' | 'embeddings' | 'remove' | 'sample'>;
  cameras(): { id: string; snapshot(): { image: RgbImage } | undefined }[];
  maxPixels: number;
  /** Photos are decoded to at most this long side (vision.decodeMaxSide); boxes are in the decoded image, whose size the answer gives. */
  maxSide?: number;
  /** How long unknown faces are kept, for the answer of GET /v1/unknowns. */
  unknownWindowSeconds: number;
  /** The same bound on image work as POST /v1/recognize; absent: unbounded. */
  admission?: Admission;
}

const FoundFace = Type.Object({
  id: Type.String({ description: 'Names this face in POST /v1/enroll until expiresAt' }),
  box: BoxSchema,
  thumbnail: Type.String({ description: 'A JPEG data URL of the face' }),
  actor: Type.Union([Type.String(), Type.Null()], { description: 'Who the running model says it is (null: unknown)' }),
  confidence: Type.Number(),
  expiresAt: Type.String({ format: 'date-time' }),
});
const FacesReply = Type.Object({ faces: Type.Array(FoundFace), width: Type.Integer(), height: Type.Integer() });
const Name = Type.String({ minLength: 1, maxLength: 64, description: "The person's name as the model will say it: letters, digits, spaces, . ' _ -" });
const EnrollReply = Type.Object({
  actor: Type.String(),
  version: Type.String({ description: 'The new model version, now running' }),
  previous: Type.String({ description: 'The version it was built on; POST /v1/model/activate with it rolls back' }),
  faces: Type.Integer(),
  updated: Type.Boolean({ description: 'True when the actor existed and the faces were added to theirs' }),
  nearest: Type.Union(
    [
      Type.Object({
        actor: Type.String(),
        score: Type.Number(),
        alike: Type.Boolean({ description: "The means are so close (for the model's embedder) that the two may be confused" }),
      }),
      Type.Null(),
    ],
    { description: 'The most similar other actor (cosine of the means)' },
  ),
});
const UnknownGroup = Type.Object({
  id: Type.String(),
  faces: Type.Integer({ description: 'Faces kept, one a second per appearance at most' }),
  appearances: Type.Integer(),
  firstSeen: Type.String({ format: 'date-time' }),
  lastSeen: Type.String({ format: 'date-time' }),
  cameras: Type.Array(Type.String()),
  thumbnails: Type.Array(Type.String(), { description: 'JPEG data URLs' }),
});
const RemoveReply = Type.Object({
  actor: Type.String(),
  version: Type.String({ description: 'The new model version, without them, now running' }),
  previous: Type.String({ description: 'The version it was built on; POST /v1/model/activate with it brings them back' }),
});
const SampleFace = Type.Object({
  id: Type.String({ description: 'Names this face in POST /v1/unknowns/:id/enroll' }),
  thumbnail: Type.String({ description: 'A JPEG data URL (empty for a face seen a moment ago)' }),
  at: Type.String({ format: 'date-time' }),
  camera: Type.String(),
  width: Type.Integer({ description: 'The face in the frame, in pixels' }),
});
const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const errors = { 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody, 507: ErrorBody };

/** The enrollment and unknown-face routes, as a fastify plugin (registered in daemon.ts). */
export async function enrollRoutes(app: FastifyInstance, deps: EnrollDeps): Promise<void> {
  const admitted = <T>(work: () => Promise<T>): Promise<T> => (deps.admission ? deps.admission.run(work) : work());
  const findFaces = async (image: RgbImage, fallback: 'retry' | 'none') => {
    const { faces } = await deps.recognizer.nameFaces(image, { fallback });
    return { faces: await deps.pending.add(image, faces), width: image.width, height: image.height };
  };

  app.post(
    '/v1/enroll/faces',
    {
      schema: {
        summary: 'Finds the faces in a photo, to enroll; each is kept 30 minutes by its id',
        description: 'The body is the image itself: Content-Type image/jpeg, image/png or image/webp.',
        consumes: [...SUPPORTED_TYPES],
        response: { 200: FacesReply, 413: ErrorBody, 415: ErrorBody, 400: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const refused = refuseNonImage(request, reply);
      if (refused) return refused;
      return admitted(async () =>
        findFaces(await decodeImage((request.body as Buffer | undefined) ?? Buffer.alloc(0), { maxPixels: deps.maxPixels, maxSide: deps.maxSide }), 'retry'),
      );
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/enroll/cameras/:id/faces',
    { schema: { summary: "Finds the faces in a camera's latest frame, to enroll", params: Id, response: { 200: FacesReply, 404: ErrorBody, 503: ErrorBody } } },
    async (request, reply) => {
      const camera = deps.cameras().find((c) => c.id === request.params.id);
      if (!camera) return sendError(reply, 'CAMERA_NOT_FOUND', `no camera ${JSON.stringify(request.params.id)}`);
      const shot = camera.snapshot();
      if (!shot) return sendError(reply.header('retry-after', '1'), 'NO_FRAME_YET', 'no frame analysed yet on this camera');
      return admitted(() => findFaces(shot.image, 'none'));
    },
  );

  app.post<{ Body: { name: string; faces: string[] } }>(
    '/v1/enroll',
    {
      schema: {
        summary: 'Adds a person to the running model from faces found before; the new model is verified and swapped in, the old one kept for rollback',
        body: Type.Object({ name: Name, faces: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 200 }) }, { additionalProperties: false }),
        response: { 200: EnrollReply, ...errors },
      },
    },
    async (request, reply) => {
      const ids = request.body.faces;
      validateName(request.body.name);
      const outcome = await deps.enroller.enroll(request.body.name, deps.pending.embeddings(ids), 'photos');
      if (outcome.ok) deps.pending.remove(ids);
      return answer(outcome, reply);
    },
  );

  app.get(
    '/v1/unknowns',
    {
      schema: {
        summary: 'Strangers seen recently, grouped so that one person is one group, newest first',
        response: { 200: Type.Object({ windowSeconds: Type.Integer(), groups: Type.Array(UnknownGroup) }) },
      },
    },
    async () => ({ windowSeconds: deps.unknownWindowSeconds, groups: deps.unknowns.list() }),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/unknowns/:id/faces',
    {
      schema: {
        summary: 'The faces a group would be enrolled from: a sample of its best and most varied, to untick any that is not this person',
        params: Id,
        response: { 200: Type.Object({ faces: Type.Array(SampleFace) }), 404: ErrorBody },
      },
    },
    async (request) => {
      const faces = deps.unknowns.sample(request.params.id);
      if (!faces) throw new RecognizerError('ENROLL_NOT_FOUND', `no group ${JSON.stringify(request.params.id)}: it may have expired`);
      return { faces };
    },
  );

  app.post<{ Params: { id: string }; Body: { name: string; faces?: string[] } }>(
    '/v1/unknowns/:id/enroll',
    {
      schema: {
        summary: 'Enrolls a group of unknown faces under a name: its sample (GET /v1/unknowns/:id/faces), or the faces of it listed in `faces`',
        params: Id,
        body: Type.Object(
          {
            name: Name,
            faces: Type.Optional(
              Type.Array(Type.String({ maxLength: 64 }), {
                minItems: 1,
                maxItems: 200,
                description: 'Face ids of the sample to enroll (the ticked ones); all of the sample when absent',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: EnrollReply, ...errors },
      },
    },
    async (request, reply) => {
      validateName(request.body.name);
      const faces = deps.unknowns.embeddings(request.params.id, request.body.faces);
      if (!faces) throw new RecognizerError('ENROLL_NOT_FOUND', `no group ${JSON.stringify(request.params.id)}: it may have expired`);
      if (faces.length === 0) throw new RecognizerError('ENROLL_NOT_FOUND', 'none of those faces is still in the group: they may have expired');
      const outcome = await deps.enroller.enroll(request.body.name, faces, 'unknown-faces');
      if (outcome.ok) deps.unknowns.remove(request.params.id);
      return answer(outcome, reply);
    },
  );

  app.delete<{ Params: { name: string } }>(
    '/v1/model/actors/:name',
    {
      schema: {
        summary: 'Removes a person from the running model: a new version without them is verified and swapped in, the old one kept for rollback',
        params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: RemoveReply, ...errors },
      },
    },
    async (request, reply) => answer(await deps.enroller.remove(request.params.name, 'api'), reply),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/unknowns/:id',
    { schema: { summary: 'Forgets a group of unknown faces', params: Id, response: { 204: Type.Null(), 404: ErrorBody } } },
    async (request, reply) => {
      if (!deps.unknowns.remove(request.params.id)) throw new RecognizerError('ENROLL_NOT_FOUND', `no group ${JSON.stringify(request.params.id)}`);
      return reply.status(204).send();
    },
  );
}

/** A refused bundle is answered with its code's status (422, 507 for a full disk) and reason, as POST /v1/model/activate answers. */
function answer(outcome: EnrollOutcome | RemoveOutcome, reply: FastifyReply) {
  if (outcome.ok) {
    const { ok: _ok, ...body } = outcome;
    return body;
  }
  return sendError(reply, outcome.refusal.code, outcome.refusal.reason);
}
