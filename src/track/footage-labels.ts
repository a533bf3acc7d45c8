// Ground truth for a video (CONTRACTS.md, "Footage labels"): its shots, who is in each, faces per frame.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { RecognizerError } from '../errors.js';

const LabelBox = Type.Object({ x: Type.Number(), y: Type.Number(), width: Type.Number({ exclusiveMinimum: 0 }), height: Type.Number({ exclusiveMinimum: 0 }) });

export const FootageLabelsSchema = Type.Object({
  /** The video file, resolved against the labels file's folder. */
  video: Type.String({ minLength: 1 }),
  shots: Type.Array(
    Type.Object({
      start: Type.Number({ minimum: 0 }),
      end: Type.Number({ minimum: 0 }),
      /** Everyone whose face is visible and recognisable at some point of the shot. */
      present: Type.Array(Type.String({ minLength: 1 })),
      /** How many other people's faces appear. */
      unknown: Type.Integer({ minimum: 0 }),
    }),
    { minItems: 1 },
  ),
  frames: Type.Optional(
    Type.Array(
      Type.Object({
        t: Type.Number({ minimum: 0 }),
        faces: Type.Array(Type.Object({ who: Type.Union([Type.String({ minLength: 1 }), Type.Null()]), box: LabelBox })),
      }),
    ),
  ),
});

export type FootageLabels = Static<typeof FootageLabelsSchema>;

/** Reads and checks a labels file; `video` comes back resolved (or replaced by `videoOverride`). */
export async function readFootageLabels(file: string, videoOverride?: string): Promise<FootageLabels> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new RecognizerError('DATASET_INVALID', `cannot read the footage labels ${file}: ${(err as Error).message}`, { cause: err });
  }
  const wrong = Value.Errors(FootageLabelsSchema, parsed).First();
  if (wrong) throw new RecognizerError('DATASET_INVALID', `footage labels ${file}: ${wrong.path || '/'}: ${wrong.message}`);
  const labels = parsed as FootageLabels;
  labels.shots.forEach((shot, i) => {
    if (shot.end <= shot.start)
      throw new RecognizerError('DATASET_INVALID', `footage labels ${file}: shot ${i} ends (${shot.end}) before it starts (${shot.start})`);
  });
  return { ...labels, video: videoOverride ?? path.resolve(path.dirname(file), labels.video) };
}
