// Scores who-is-on-screen answers against footage labels: per shot, per actor, and per face by size.
import type { Box } from '../vision/types.js';
import type { FootageLabels } from './footage-labels.js';
import { intersection, iou } from '../vision/boxes.js';

/** A stretch of one person on screen, with the times (and boxes) it was seen at. */
export interface ScoredAppearance {
  actor: string | null;
  start: number;
  end: number;
  samples: { t: number; box: Box }[];
}

export interface PrecisionRecall {
  precision: number;
  recall: number;
}

export interface ShotScore extends PrecisionRecall {
  /** Shots in the labels. */
  shots: number;
  /** (shot, actor) pairs: labelled present, answered, and both. */
  present: number;
  answered: number;
  right: number;
  perActor: Record<string, PrecisionRecall & { present: number; answered: number; right: number }>;
  /** Per shot: who was labelled and who was answered, for reading a failure. */
  detail: { start: number; end: number; present: string[]; answered: string[] }[];
  /** Labelled people the model does not know: left out of recall. */
  notEnrolled: string[];
}

/**
 * An actor answered for a shot is an appearance named after them with a sample inside the shot. A
 * track that runs on across a cut answers for both shots, so carrying a name across a cut costs
 * precision, as a viewer would see it.
 */
export function scoreShots(labels: FootageLabels, appearances: readonly ScoredAppearance[], known: readonly string[]): ShotScore {
  const enrolled = new Set(known);
  const notEnrolled = new Set<string>();
  const perActor: ShotScore['perActor'] = {};
  const tally = (actor: string) => (perActor[actor] ??= { precision: 0, recall: 0, present: 0, answered: 0, right: 0 });
  const detail: ShotScore['detail'] = [];
  let present = 0;
  let answered = 0;
  let right = 0;
  for (const shot of labels.shots) {
    const truth = new Set(shot.present.filter((a) => (enrolled.has(a) ? true : (notEnrolled.add(a), false))));
    const named = new Set(appearances.filter((a) => a.actor !== null && a.samples.some((s) => s.t >= shot.start && s.t < shot.end)).map((a) => a.actor!));
    for (const actor of truth) tally(actor).present++;
    for (const actor of named) {
      tally(actor).answered++;
      if (truth.has(actor)) tally(actor).right++;
    }
    present += truth.size;
    answered += named.size;
    right += [...named].filter((a) => truth.has(a)).length;
    detail.push({ start: shot.start, end: shot.end, present: [...truth].sort(), answered: [...named].sort() });
  }
  for (const t of Object.values(perActor)) Object.assign(t, ratios(t.right, t.answered, t.present));
  return { shots: labels.shots.length, ...ratios(right, answered, present), present, answered, right, perActor, detail, notEnrolled: [...notEnrolled].sort() };
}

function ratios(right: number, answered: number, present: number): PrecisionRecall {
  // Nothing answered is no wrong answer: precision 1, as with nothing to find recall is 1.
  return { precision: answered ? right / answered : 1, recall: present ? right / present : 1 };
}

/** Face height bands the per-face figures are grouped by (pixels of the video frame). */
export const SIZE_BANDS = [
  { name: '<36', below: 36 },
  { name: '36-60', below: 60 },
  { name: '>=60', below: Infinity },
] as const;

export interface FaceBandScore {
  /** Labelled faces of enrolled people in the band. */
  faces: number;
  /** Fraction found by the detector on that frame. */
  detected: number;
  /** Fraction named correctly by that frame alone. */
  namedByFrame: number;
  /** Fraction named correctly by the track the face belonged to, at the nearest analysed frame. */
  namedByTrack: number;
  /** Strangers' faces (who: null) in the band, and the fraction named as anyone by their frame or track. */
  strangers: number;
  strangersNamed: number;
}

/** One labelled frame's faces as the pipeline saw them: the detections, and who each frame decision named. */
export interface FrameAnswer {
  t: number;
  faces: { box: Box; actor: string | null }[];
}

/**
 * Per face of the labelled frames: detected (a detection overlapping its box), named by the frame's
 * own decision, and named by its track (the appearance with a sample near `t` whose box overlaps).
 */
export function scoreFaces(
  labels: FootageLabels,
  frames: readonly FrameAnswer[],
  appearances: readonly ScoredAppearance[],
  sampleStep: number,
  known: readonly string[],
): Record<string, FaceBandScore> {
  const enrolled = new Set(known);
  const counts = Object.fromEntries(
    SIZE_BANDS.map((b) => [b.name, { faces: 0, detected: 0, namedByFrame: 0, namedByTrack: 0, strangers: 0, strangersNamed: 0 }]),
  );
  for (const frame of labels.frames ?? []) {
    const answer = frames.find((f) => Math.abs(f.t - frame.t) < 1e-6);
    for (const face of frame.faces) {
      if (face.who !== null && !enrolled.has(face.who)) continue;
      const band = counts[SIZE_BANDS.find((b) => face.box.height < b.below)!.name]!;
      const seen = answer?.faces.find((f) => overlaps(f.box, face.box));
      const track = trackAt(appearances, frame.t, face.box, sampleStep);
      if (face.who === null) {
        band.strangers++;
        if (seen?.actor || track?.actor) band.strangersNamed++;
        continue;
      }
      band.faces++;
      if (seen) band.detected++;
      if (seen?.actor === face.who) band.namedByFrame++;
      if (track?.actor === face.who) band.namedByTrack++;
    }
  }
  return Object.fromEntries(
    Object.entries(counts).map(([name, c]) => [
      name,
      {
        faces: c.faces,
        detected: share(c.detected, c.faces),
        namedByFrame: share(c.namedByFrame, c.faces),
        namedByTrack: share(c.namedByTrack, c.faces),
        strangers: c.strangers,
        strangersNamed: share(c.strangersNamed, c.strangers),
      },
    ]),
  );
}

function share(n: number, of: number): number {
  return of ? Math.round((n / of) * 1000) / 1000 : 0;
}

/** The appearance seen at the analysed frame nearest `t` (within half a step) with a box over `box`. */
function trackAt(appearances: readonly ScoredAppearance[], t: number, box: Box, step: number): ScoredAppearance | undefined {
  let best: { a: ScoredAppearance; dt: number } | undefined;
  for (const a of appearances) {
    for (const s of a.samples) {
      const dt = Math.abs(s.t - t);
      if (dt <= step / 2 + 1e-6 && overlaps(s.box, box) && (!best || dt < best.dt)) best = { a, dt };
    }
  }
  return best?.a;
}

/** Whether two boxes are the same face: intersection over union at least 0.3, or one's centre inside the other. */
export function overlaps(a: Box, b: Box): boolean {
  if (intersection(a, b) === 0) return false;
  const inside = (p: Box, q: Box) => {
    const cx = p.x + p.width / 2;
    const cy = p.y + p.height / 2;
    return cx >= q.x && cx <= q.x + q.width && cy >= q.y && cy <= q.y + q.height;
  };
  return iou(a, b) >= 0.3 || inside(a, b) || inside(b, a);
}
