// Small faces as a TV shows them: each test photo shrunk so its face is N px high, in a 640×360 frame, through the whole pipeline.
import sharp from 'sharp';
import type { ActorModel } from '../recognize/actor-model.js';
import { Progress } from '../util/progress.js';
import type { RgbImage } from '../vision/types.js';
import { imagesBelow, scanDataset } from './dataset.js';
import { largestFace, type FaceSource } from './face-source.js';

/** The frame the shrunk photo is shown in: a 640×360 capture, a third of the sitcom's faces under 36 px. */
const FRAME = { width: 640, height: 360 };
/** A face found within this fraction of the asked height from where the photo's face went is that face. */
const FOUND_WITHIN = 0.6;

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
      const frame = await shrunkInFrame(photo.bytes, face.box, size);
      const found = (await source.analyze(frame)).filter(
        (f) => Math.hypot(f.box.x + f.box.width / 2 - FRAME.width / 2, f.box.y + f.box.height / 2 - FRAME.height / 2) <= FOUND_WITHIN * size,
      );
      if (found.length === 0) continue;
      c.found++;
      const [named] = await model.classifyFaces([found[0]!]);
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

/** The photo scaled so that `box` is `size` px high, its centre in the middle of a mid-grey frame. */
async function shrunkInFrame(bytes: Uint8Array, box: { x: number; y: number; width: number; height: number }, size: number): Promise<RgbImage> {
  const scale = size / box.height;
  const image = sharp(bytes).rotate();
  const meta = await image.metadata();
  // EXIF-rotated photos swap their sides; box is in the rotated photo's pixels.
  const turned = (meta.orientation ?? 1) >= 5;
  const width = Math.max(1, Math.round((turned ? meta.height! : meta.width!) * scale));
  const height = Math.max(1, Math.round((turned ? meta.width! : meta.height!) * scale));
  const { data } = await image.resize(width, height, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const frame = new Uint8Array(FRAME.width * FRAME.height * 3).fill(128);
  const dx = Math.round(FRAME.width / 2 - (box.x + box.width / 2) * scale);
  const dy = Math.round(FRAME.height / 2 - (box.y + box.height / 2) * scale);
  for (let y = Math.max(0, -dy); y < height && y + dy < FRAME.height; y++) {
    const x0 = Math.max(0, -dx);
    const x1 = Math.min(width, FRAME.width - dx);
    if (x1 <= x0) continue;
    frame.set(data.subarray((y * width + x0) * 3, (y * width + x1) * 3), ((y + dy) * FRAME.width + x0 + dx) * 3);
  }
  return { data: frame, width: FRAME.width, height: FRAME.height };
}
