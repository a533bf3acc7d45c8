// Each actor's usable faces in a dataset, chosen once for `train` and `crops` alike.
import type { FaceObservation } from '../vision/pipeline.js';
import { Progress } from '../util/progress.js';
import { seededShuffle, type Dataset } from './dataset.js';
import type { FaceSource } from './face-source.js';
import { chooseFaces, differenceHash, hammingDistance, NEAR_DUPLICATE_BITS, type Photo } from './select.js';

/** Photos left out, by reason. */
export interface SkipCounts {
  noFace: number;
  unreadable: number;
  duplicates: number;
  nearDuplicates: number;
  disagreeing: number;
}

/** The actor's face in one photo, with the photo it came from. */
export interface ChosenFace {
  /** The photo's sha256. */
  id: string;
  file: string;
  bytes: Uint8Array;
  face: FaceObservation;
}

interface KeptPhoto extends Photo {
  file: string;
  bytes: Uint8Array;
}

export function noSkips(): SkipCounts {
  return { noFace: 0, unreadable: 0, duplicates: 0, nearDuplicates: 0, disagreeing: 0 };
}

/**
 * Yields each actor's chosen faces, one actor at a time (so only that actor's photo bytes are held):
 * up to `maxPerActor` photos drawn with `seed`; unreadable photos, photos without a face, exact
 * copies (sha256) and near copies (difference hash) anywhere in the dataset skipped and counted in
 * `skipped`; in each photo the face that agrees with the actor's other photos (see chooseFaces).
 */
export async function* chooseActorFaces(
  source: FaceSource,
  dataset: Dataset,
  options: { maxPerActor?: number; seed: number; label: string },
  skipped: SkipCounts,
): AsyncGenerator<{ actor: string; faces: ChosenFace[] }> {
  const chosen = [...dataset].map(([actor, files]) => [actor, options.maxPerActor ? seededShuffle(files, options.seed).slice(0, options.maxPerActor) : files] as const);
  const progress = new Progress(options.label, chosen.reduce((n, [, f]) => n + f.length, 0));
  const seen = new Set<string>();
  const looks: bigint[] = [];
  try {
    for (const [actor, files] of chosen) {
      const photos: KeptPhoto[] = [];
      for (const file of files) {
        const result = await source.faces(file);
        progress.tick();
        if (result.status === 'unreadable') skipped.unreadable++;
        else if (result.status === 'no-face') skipped.noFace++;
        else if (seen.has(result.hash)) skipped.duplicates++;
        else {
          seen.add(result.hash);
          const look = await differenceHash(result.bytes);
          if (looks.some((other) => hammingDistance(other, look) <= NEAR_DUPLICATE_BITS)) {
            skipped.nearDuplicates++;
            continue;
          }
          looks.push(look);
          photos.push({ id: result.hash, faces: result.faces, file, bytes: result.bytes });
        }
      }
      const { chosen: faces, disagreeing } = chooseFaces(photos);
      skipped.disagreeing += disagreeing.length;
      const byId = new Map(photos.map((p) => [p.id, p]));
      yield { actor, faces: faces.map(({ id, face }) => ({ id, face, file: byId.get(id)!.file, bytes: byId.get(id)!.bytes })) };
    }
  } finally {
    progress.finish();
  }
}
