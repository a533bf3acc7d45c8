// Small faces as a TV shows them: each test photo shrunk so its face is N px high, in a 640×360 frame, through the whole pipeline.
import type { ActorModel } from '../recognize/actor-model.js';
import { Progress } from '../util/progress.js';
import { imagesBelow, scanDataset } from './dataset.js';
import { largestFace, type FaceSource } from './face-source.js';

export interface SizeScore {
  /** Photos shrunk to this face height (photos whose face was already smaller are left out). */
  n: number;
  /** Fraction where the pipeline found the face in the frame. */
  detected: number;
  /** Enrolled actors: fraction named correctly, misnamed, and found but rejected as unknown. */
  named: number;
  misnamed: number;
  rejected: number;
}

export interface SizeReport {
  /** Per face height in pixels. */
  known: Record<string, SizeScore>;
  /** Faces of people the model does not know, per height: how many were found, and the fraction of those rejected. */
  unknown?: Record<string, { n: number; detected: number; rejected: number }>;
}

/**
 * For each photo of an enrolled actor (and of `unknown` people), the face the full-size photo shows
 * is scaled to each height, the photo pasted (cut to the frame) into a mid-grey 640×360 frame with
 * the face in the middle, and the frame run through detection, the second look, landmarks,
 * alignment, embedding and the model, as a frame of a camera is.
 */
export async function evaluateSizes(
  source: FaceSource,
  model: ActorModel,
  options: { datasets: string[]; unknown?: string; sizes: number[] },
): Promise<SizeReport> {
  const dataset = await scanDataset(options.datasets);
  const known = [...dataset]
    .filter(([actor]) => model.actors.includes(actor))
    .flatMap(([actor, files]) => files.map((file) => ({ actor: actor as string | null, file })));
  const strangers = options.unknown ? (await imagesBelow(options.unknown)).map((file) => ({ actor: null as string | null, file })) : [];
  const tally = () => Object.fromEntries(options.sizes.map((s) => [String(s), { n: 0, found: 0, right: 0, wrong: 0, rejected: 0 }]));
  const counts = { known: tally(), unknown: tally() };
  const progress = new Progress('shrinking', known.length + strangers.length);
  for (const { actor, file } of [...known, ...strangers]) {
    progress.tick();
    const photo = await source.faces(file);
    if (photo.status !== 'ok') continue;
    const face = largestFace(photo.faces);
    for (const size of options.sizes) {
      if (face.box.height <= size) continue;
      const c = (actor === null ? counts.unknown : counts.known)[String(size)]!;
      c.n++;
      const small = await source.shrunk(photo, face, size);
      if (!small) continue;
      c.found++;
      const [named] = await model.classifyFaces([small]);
      if (named!.actor === null) c.rejected++;
      else if (named!.actor === actor) c.right++;
      else c.wrong++;
    }
  }
  progress.finish();
  const share = (x: number, of: number) => (of ? Math.round((x / of) * 1000) / 1000 : 0);
  const report: SizeReport = {
    known: Object.fromEntries(
      Object.entries(counts.known).map(([s, c]) => [
        s,
        { n: c.n, detected: share(c.found, c.n), named: share(c.right, c.n), misnamed: share(c.wrong, c.n), rejected: share(c.rejected, c.n) },
      ]),
    ),
  };
  if (options.unknown)
    report.unknown = Object.fromEntries(
      Object.entries(counts.unknown).map(([s, c]) => [s, { n: c.n, detected: share(c.found, c.n), rejected: share(c.rejected, c.found) }]),
    );
  return report;
}
