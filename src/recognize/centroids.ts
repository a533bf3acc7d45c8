// The class means of a nearest-class-mean bundle (`centroids.json`), so a device can add an actor.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { RecognizerError } from '../errors.js';
import { CENTROIDS_FILE } from './bundle-layout.js';
import type { Manifest } from './manifest.js';
import { classMeans } from './ncm-head.js';

/** Its name in a bundle, from the bundle's layout; kept here for the modules that read class means. */
export { CENTROIDS_FILE };
export const CENTROIDS_FORMAT = 'actor-recognizer/centroids@1';

const CentroidsSchema = Type.Object({
  format: Type.Literal(CENTROIDS_FORMAT),
  size: Type.Integer({ minimum: 1 }),
  /** In the manifest's actor order; `mean` is the unit mean the head's MatMul holds for that actor. */
  classes: Type.Array(
    Type.Object({
      actor: Type.String({ minLength: 1 }),
      /** Faces behind the mean, so that more faces of the same person can be folded in with their weight. */
      count: Type.Integer({ minimum: 1 }),
      mean: Type.Array(Type.Number()),
    }),
    { minItems: 1 },
  ),
});

export type Centroids = Static<typeof CentroidsSchema>;

/**
 * The file train.ts writes next to an ncm head. Float32 values survive a JSON round trip exactly,
 * so a head rebuilt from this file is the same graph.
 */
export function centroidsFile(actors: readonly string[], embeddingsByClass: Float32Array[][], size: number): string {
  const means = classMeans(embeddingsByClass, size);
  return serializeCentroids(
    size,
    actors.map((actor, i) => ({ actor, count: embeddingsByClass[i]!.length, mean: Array.from(means[i]!) })),
  );
}

/** The file's text for these classes (training writes it, and so does an enrollment on the device). */
export function serializeCentroids(size: number, classes: Centroids['classes']): string {
  const centroids: Centroids = { format: CENTROIDS_FORMAT, size, classes: classes.map((c) => ({ ...c, mean: c.mean.map(shortestFloat32) })) };
  return JSON.stringify(centroids) + '\n';
}

/**
 * The shortest decimal that reads back as the same float32: a class mean is float32 in the head, and
 * written with a double's 17 digits it takes twice the bytes (the starter model's 128 means of 192
 * values: 530 KB against 300 KB).
 */
function shortestFloat32(x: number): number {
  const f = Math.fround(x);
  for (let digits = 6; digits < 9; digits++) {
    const short = Number(f.toPrecision(digits));
    if (Math.fround(short) === f) return short;
  }
  return Number(f.toPrecision(9));
}

/** Parses the bundle's centroids and checks them against its manifest (same actors, same order, same size). */
export function parseCentroids(bytes: Buffer, manifest: Manifest): Centroids {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new RecognizerError('MODEL_DATA_INVALID', `bundle ${manifest.version}: ${CENTROIDS_FILE} is not JSON`, { cause: err });
  }
  if (!Value.Check(CentroidsSchema, parsed)) {
    const first = Value.Errors(CentroidsSchema, parsed).First();
    throw new RecognizerError(
      'MODEL_DATA_INVALID',
      `bundle ${manifest.version}: ${CENTROIDS_FILE}: ${first ? `${first.path || '/'}: ${first.message}` : 'invalid'}`,
    );
  }
  const size = manifest.input.type === 'embedding' ? manifest.input.size : -1;
  const sameActors = parsed.classes.length === manifest.actors.length && parsed.classes.every((c, i) => c.actor === manifest.actors[i]);
  if (!sameActors || parsed.size !== size || parsed.classes.some((c) => c.mean.length !== size)) {
    throw new RecognizerError('MODEL_DATA_INVALID', `bundle ${manifest.version}: ${CENTROIDS_FILE} does not match the manifest's actors or embedding size`);
  }
  return parsed;
}
