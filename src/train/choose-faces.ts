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

/** A photo left out, and why; `copyOf` names the photo it repeats (train --verbose lists them per actor). */
export interface DroppedPhoto {
  actor: string;
  file: string;
  reason: 'duplicate' | 'near-duplicate' | 'disagreeing' | 'no-face' | 'unreadable';
  copyOf?: string;
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
 * `skipped` (and each listed in `dropped`, when given); in each photo the face that agrees with the
 * actor's other photos (see chooseFaces).
 */
export async function* chooseActorFaces(
  source: FaceSource,
  dataset: Dataset,
  options: { maxPerActor?: number; seed: number; label: string },
  skipped: SkipCounts,
  dropped: DroppedPhoto[] = [],
): AsyncGenerator<{ actor: string; faces: ChosenFace[] }> {
  const chosen = [...dataset].map(
    ([actor, files]) => [actor, options.maxPerActor ? seededShuffle(files, options.seed).slice(0, options.maxPerActor) : files] as const,
  );
  const progress = new Progress(
    options.label,
    chosen.reduce((n, [, f]) => n + f.length, 0),
  );
  // The first file of each content hash and of each look, to say what a dropped copy repeats.
  const seen = new Map<string, string>();
  const looks: { look: bigint; file: string }[] = [];
  try {
    for (const [actor, files] of chosen) {
      const photos: KeptPhoto[] = [];
      const drop = (file: string, reason: DroppedPhoto['reason'], copyOf?: string) => dropped.push({ actor, file, reason, ...(copyOf ? { copyOf } : {}) });
      for (const file of files) {
        const result = await source.faces(file);
        progress.tick();
        if (result.status === 'unreadable') {
          skipped.unreadable++;
          drop(file, 'unreadable');
        } else if (result.status === 'no-face') {
          skipped.noFace++;
          drop(file, 'no-face');
        } else if (seen.has(result.hash)) {
          skipped.duplicates++;
          drop(file, 'duplicate', seen.get(result.hash));
        } else {
          seen.set(result.hash, file);
          const look = await differenceHash(result.bytes);
          const like = looks.find((other) => hammingDistance(other.look, look) <= NEAR_DUPLICATE_BITS);
          if (like) {
            skipped.nearDuplicates++;
            drop(file, 'near-duplicate', like.file);
            continue;
          }
          looks.push({ look, file });
          photos.push({ id: result.hash, faces: result.faces, file, bytes: result.bytes });
        }
      }
      const { chosen: faces, disagreeing } = chooseFaces(photos, source.tuning.agreement);
      skipped.disagreeing += disagreeing.length;
      const byId = new Map(photos.map((p) => [p.id, p]));
      for (const id of disagreeing) drop(byId.get(id)!.file, 'disagreeing');
      yield { actor, faces: faces.map(({ id, face }) => ({ id, face, file: byId.get(id)!.file, bytes: byId.get(id)!.bytes })) };
    }
  } finally {
    progress.finish();
  }
}
