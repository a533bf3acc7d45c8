// Scores a bundle on a folder per actor, and on faces of people it does not know.
import type { ActorModel } from '../recognize/actor-model.js';
import { Progress } from '../util/progress.js';
import { imagesBelow, scanDataset } from './dataset.js';
import { decodeImage } from '../vision/decode.js';
import type { FaceObservation } from '../vision/pipeline.js';
import { FaceSource, largestFace } from './face-source.js';

export interface EvalReport {
  /** Photos of enrolled actors scored. */
  n: number;
  /** Fraction of them named correctly (a rejected or misnamed face is wrong). */
  top1: number;
  /** Fraction whose best candidate is the right actor, whatever the threshold (closed-set identification). */
  closedSetTop1: number;
  perActor: Record<string, { n: number; top1: number }>;
  /** Of those photos: how many were misnamed as another actor, and how many rejected as unknown. */
  errors: { misnamed: number; rejected: number; noFace: number; unreadable: number };
  /** People in the dataset whom the model does not know; their photos are not scored. */
  notEnrolled: string[];
  /** Faces of people who are not enrolled: how many, and the fraction rejected as unknown. */
  unknown?: { n: number; rejected: number; rejectedCount: number; noFace: number };
}

export async function evaluateModel(source: FaceSource, model: ActorModel, options: { datasets: string[]; unknown?: string }): Promise<EvalReport> {
  const dataset = await scanDataset(options.datasets);
  const known = new Set(model.actors);
  const notEnrolled = [...dataset.keys()].filter((a) => !known.has(a));
  const scored = [...dataset].filter(([actor]) => known.has(actor));
  const unknownFiles = options.unknown ? await imagesBelow(options.unknown) : [];
  const progress = new Progress('evaluating', scored.reduce((n, [, f]) => n + f.length, 0) + unknownFiles.length);
  const errors = { misnamed: 0, rejected: 0, noFace: 0, unreadable: 0 };
  const perActor: EvalReport['perActor'] = {};
  let n = 0;
  let right = 0;
  let closed = 0;
  for (const [actor, files] of scored) {
    let actorRight = 0;
    for (const file of files) {
      const result = await source.faces(file);
      progress.tick();
      n++;
      if (result.status !== 'ok') {
        errors[result.status === 'no-face' ? 'noFace' : 'unreadable']++;
        continue;
      }
      const [named] = await model.classifyFaces([await input(source, model, result.bytes, largestFace(result.faces))]);
      if (named!.candidates[0]?.actor === actor) closed++;
      if (named!.actor === actor) actorRight++;
      else if (named!.actor === null) errors.rejected++;
      else errors.misnamed++;
    }
    perActor[actor] = { n: files.length, top1: files.length ? actorRight / files.length : 0 };
    right += actorRight;
  }
  const report: EvalReport = { n, top1: n ? right / n : 0, closedSetTop1: n ? closed / n : 0, perActor, errors, notEnrolled };
  if (options.unknown) {
    const unknown = { n: 0, rejected: 0, rejectedCount: 0, noFace: 0 };
    for (const file of unknownFiles) {
      const result = await source.faces(file);
      progress.tick();
      if (result.status !== 'ok') {
        unknown.noFace++;
        continue;
      }
      unknown.n++;
      const [named] = await model.classifyFaces([await input(source, model, result.bytes, largestFace(result.faces))]);
      if (named!.actor === null) unknown.rejectedCount++;
    }
    unknown.rejected = unknown.n ? unknown.rejectedCount / unknown.n : 0;
    report.unknown = unknown;
  }
  progress.finish();
  return report;
}

/** What the model takes for a face: its embedding, or for an image classifier also its aligned chip, cut again from the photo. */
async function input(source: FaceSource, model: ActorModel, bytes: Uint8Array, face: FaceObservation): Promise<FaceObservation> {
  if (!model.takesChips) return face;
  // The photo decoded once already under the configured pixel limit, when its faces were found.
  const image = await decodeImage(bytes, { maxPixels: Number.MAX_SAFE_INTEGER });
  return { ...face, chip: source.chip(image, face) };
}
