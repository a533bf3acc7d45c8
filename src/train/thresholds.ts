// Open-set calibration: per-actor thresholds that reject faces of people who are not enrolled.
import { cosine } from '../recognize/ncm-head.js';

/**
 * Per kind of score: the range thresholds are kept in, so a tiny class cannot accept everything or
 * nothing, and the threshold used when there is nothing to calibrate on (one actor, no strangers):
 * for cosines, the pooled figure measured on real photos.
 */
export const SCORE_SCALES = {
  cosine: { range: [0.55, 0.99], prior: 0.93 },
  probability: { range: [0.05, 0.999], prior: 0.5 },
} as const satisfies Record<string, Scale>;

interface Scale {
  range: readonly [number, number];
  prior: number;
}

/** An actor's threshold is raised over the default only on at least this many impostor faces that came out as it. */
const MIN_FOR_ACTOR = 10;

/** A face of someone who is not (or, for calibration, is held out as not) enrolled: the actor it came out as. */
export interface ImpostorScore {
  /** Who the face really is: an actor held out, or an unknown person (their folder). */
  identity: string;
  /** The enrolled actor (index) with the best score, and that score. */
  actor: number;
  score: number;
}

/** A face of an enrolled actor on data the head did not fit: its actor, the head's best answer and score. */
export interface GenuineScore {
  actor: number;
  predicted: number;
  score: number;
}

/** What the thresholds do on the calibration data. */
export interface OperatingPoint {
  method: 'equal-error' | 'target-rejection';
  /** The default threshold; actors may have a higher one. */
  threshold: number;
  /** Target fraction of each impostor's faces rejected, for that fraction of the impostors (target-rejection only). */
  targetRejection?: number;
  /** Fraction of impostor faces under their actor's threshold. */
  impostorsRejected: number;
  /** Fraction of impostor identities with at least the target fraction of their faces rejected. */
  identitiesRejected: number;
  /** Fraction of genuine faces named correctly (right actor, at or over its threshold). */
  genuineAccepted: number;
  impostors: number;
  identities: number;
  genuine: number;
}

export interface Calibration {
  default: number;
  /** The threshold for tracks (see trackThreshold), when there were impostor identities enough to set one. */
  track?: number;
  /** One threshold per actor index (the default where the data says nothing more). */
  perActor: number[];
  point: OperatingPoint;
}

/**
 * Chooses the thresholds. With a target rejection rate R, impostors are taken per identity: each
 * held-out identity's faces give the score under which R of them fall, and the default threshold is
 * the score that does so for R of the identities. An actor that many impostor faces came out as gets
 * its own, higher threshold where R of those faces fall under it. Pooling all impostor faces instead
 * let the many easy strangers hide the few look-alikes: on the pooled photos (10 per person, five
 * people held out as strangers, five draws) R = 0.9 over pooled faces rejected 81% of the strangers,
 * per identity 93%. Without a target: the equal-error point of genuine against impostor scores.
 */
export function calibrate(
  genuine: GenuineScore[],
  impostors: ImpostorScore[],
  actorCount: number,
  rejectRate?: number,
  scale: Scale = SCORE_SCALES.cosine,
): Calibration {
  const clamp = (t: number) => Math.min(scale.range[1], Math.max(scale.range[0], t));
  let threshold: number;
  let perActor: number[];
  if (rejectRate === undefined || impostors.length === 0) {
    threshold = impostors.length
      ? equalError(
          genuine.filter((g) => g.predicted === g.actor).map((g) => g.score),
          impostors.map((i) => i.score),
          scale,
        )
      : scale.prior;
    perActor = new Array<number>(actorCount).fill(threshold);
  } else {
    const byIdentity = groupBy(impostors, (i) => i.identity);
    threshold = clamp(
      quantile(
        [...byIdentity.values()].map((faces) =>
          quantile(
            faces.map((f) => f.score),
            rejectRate,
          ),
        ),
        rejectRate,
      ),
    );
    perActor = Array.from({ length: actorCount }, (_, a) => {
      const came = impostors.filter((i) => i.actor === a).map((i) => i.score);
      return came.length >= MIN_FOR_ACTOR ? clamp(Math.max(threshold, quantile(came, rejectRate))) : threshold;
    });
  }
  return { default: threshold, perActor, point: operatingPoint(genuine, impostors, perActor, threshold, rejectRate) };
}

/** What given thresholds do to genuine and impostor faces. */
export function operatingPoint(
  genuine: GenuineScore[],
  impostors: ImpostorScore[],
  perActor: number[],
  threshold: number,
  rejectRate?: number,
): OperatingPoint {
  const rejected = (i: ImpostorScore) => i.score < (perActor[i.actor] ?? threshold);
  const byIdentity = groupBy(impostors, (i) => i.identity);
  const target = rejectRate ?? 0.5;
  return {
    method: rejectRate === undefined ? 'equal-error' : 'target-rejection',
    threshold,
    ...(rejectRate === undefined ? {} : { targetRejection: rejectRate }),
    impostorsRejected: fraction(impostors, rejected),
    identitiesRejected: fraction([...byIdentity.values()], (faces) => fraction(faces, rejected) >= target),
    genuineAccepted: fraction(genuine, (g) => g.predicted === g.actor && g.score >= (perActor[g.actor] ?? threshold)),
    impostors: impostors.length,
    identities: byIdentity.size,
    genuine: genuine.length,
  };
}

/** The best-scoring mean (optionally leaving one out) and its cosine. */
export function nearestMean(embedding: Float32Array, means: readonly Float32Array[], exclude = -1): { actor: number; score: number } {
  let actor = -1;
  let score = -Infinity;
  means.forEach((m, d) => {
    if (d === exclude) return;
    const s = cosine(embedding, m);
    if (s > score) {
      score = s;
      actor = d;
    }
  });
  return { actor, score };
}

/** Every face of each actor held out in turn as an impostor: its best score against the other actors' means. */
export function heldOutImpostors(actors: readonly string[], byClass: readonly (readonly Float32Array[])[], means: readonly Float32Array[]): ImpostorScore[] {
  if (means.length < 2) return [];
  return byClass.flatMap((own, c) => own.map((e) => ({ identity: actors[c]!, ...nearestMean(e, means, c) })));
}

/** Faces of people who are not enrolled, against every mean. */
export function unknownImpostors(unknown: readonly { identity: string; embedding: Float32Array }[], means: readonly Float32Array[]): ImpostorScore[] {
  return unknown.map((u) => ({ identity: `unknown:${u.identity}`, ...nearestMean(u.embedding, means) }));
}

/** Genuine scores of held-back faces (validation or test) against the means fitted without them. */
export function ncmGenuine(byClass: readonly (readonly Float32Array[])[], means: readonly Float32Array[]): GenuineScore[] {
  return byClass.flatMap((own, c) =>
    own.map((e) => {
      const best = nearestMean(e, means);
      return { actor: c, predicted: best.actor, score: best.score };
    }),
  );
}

/** Confusion counts: rows the true actor, columns the answer. */
export function confusion(actorCount: number, genuine: readonly GenuineScore[]): number[][] {
  const counts = Array.from({ length: actorCount }, () => new Array<number>(actorCount).fill(0));
  for (const g of genuine) counts[g.actor]![g.predicted]!++;
  return counts;
}

/** The middle of the range of scores where false rejects plus false accepts is smallest. */
function equalError(genuine: number[], impostor: number[], { range: [lowest, highest], prior }: Scale): number {
  if (genuine.length === 0) return prior;
  let bestError = Infinity;
  let from = lowest;
  let to = lowest;
  for (let t = lowest; t <= highest + 1e-9; t += 0.0025) {
    const error = genuine.filter((s) => s < t).length / genuine.length + impostor.filter((s) => s >= t).length / impostor.length;
    if (error < bestError - 1e-12) {
      bestError = error;
      from = to = t;
    } else if (Math.abs(error - bestError) <= 1e-12 && to >= t - 0.003) {
      to = t;
    }
  }
  return Math.round(((from + to) / 2) * 10000) / 10000;
}

/** The smallest score that at least `q` of `values` fall under (ties stay rejected). */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return Math.round((sorted[Math.max(0, index)]! + 1e-6) * 1e6) / 1e6;
}

function fraction<T>(items: readonly T[], test: (item: T) => boolean): number {
  return items.length ? items.filter(test).length / items.length : 0;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/**
 * How much a cosine threshold rises with the spread of a track's faces. Averaging unit embeddings
 * shortens their mean by 1/L as the faces differ, and the cosine of that mean to a class mean rises
 * by as much, for strangers too: on the pooled photos (five strangers, six draws) groups of 2 to 10
 * photos of a stranger passed the single-face threshold 23–55% of the time instead of 5%. Raising
 * the threshold by β·T·(1/L − 1) with β = 0.8 kept them at 1.4–3.7%, while 99.5% or more of the
 * groups of an enrolled person's photos were still named.
 */
export const SPREAD_BETA = 0.8;

/** A cosine threshold `t` for the mean of faces whose mean unit embedding has length `length`. */
export function spreadThreshold(t: number, length: number): number {
  return t * (1 + SPREAD_BETA * (1 / Math.max(length, 1e-6) - 1));
}
