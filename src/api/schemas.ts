// JSON schemas of the REST API's answers: validated on the way out and published as OpenAPI.
import { Type } from '@sinclair/typebox';
import { HTTP_STATUS, type ErrorCode } from '../errors.js';

const ERROR_CODES = Object.keys(HTTP_STATUS) as ErrorCode[];

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      // One vocabulary (src/errors.ts): every code the API answers with, so that a generated client can switch on it.
      code: Type.Unsafe<ErrorCode>({ type: 'string', enum: ERROR_CODES, description: 'Stable error code; see the table in docs/rest-api.md.' }),
      message: Type.String(),
    }),
  },
  { $id: 'Error', description: 'Every error answer.' },
);

export const BoxSchema = Type.Object(
  { x: Type.Number(), y: Type.Number(), width: Type.Number(), height: Type.Number() },
  { description: 'Pixels of the original image.' },
);

export const FaceSchema = Type.Object(
  {
    box: BoxSchema,
    actor: Type.Union([Type.String(), Type.Null()], { description: 'The actor, or null for an unknown face.' }),
    confidence: Type.Number({ description: "The best actor's score." }),
    candidates: Type.Array(Type.Object({ actor: Type.String(), score: Type.Number() }), { description: 'Best actors first.' }),
    quality: Type.Optional(
      Type.Object(
        {
          score: Type.Number({ description: 'How much the face is worth as evidence, 0–1: the product of the parts below.' }),
          margin: Type.Number({ description: 'How far over the threshold this face had to score to be named (blurred faces sit close to every actor).' }),
          size: Type.Number(),
          sharpness: Type.Number(),
          pose: Type.Number(),
          detector: Type.Number(),
        },
        { description: 'The face quality; a face too poor to name is unknown even when its best score is near the threshold.' },
      ),
    ),
  },
  { $id: 'Face' },
);

export const RecognizeReply = Type.Object({
  faces: Type.Array(Type.Ref('Face')),
  model: Type.Object({ version: Type.Union([Type.String(), Type.Null()]) }),
});

export const ModelReply = Type.Object({
  version: Type.Union([Type.String(), Type.Null()]),
  actors: Type.Array(Type.String()),
  loadedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  source: Type.Union([Type.String(), Type.Null()], { description: 'Where the model was loaded from.' }),
});

export const HealthReply = Type.Object({ status: Type.String() });

export const ReadyReply = Type.Object({ ready: Type.Boolean(), reasons: Type.Array(Type.String()) });
