// A first-cut open-set threshold from the training embeddings themselves (leave-one-out scores).
import { cosine } from '../recognize/ncm-head.js';

/** Thresholds are kept inside this range, so a tiny class cannot accept everything or nothing. */
const LOWEST = 0.55;
const HIGHEST = 0.99;

/**
 * One threshold for every class: the score that best separates all genuine leave-one-out scores
 * from all impostor scores, each error rate counted equally. With ten photos an actor, a threshold
 * per actor follows its one odd photo; pooled over actors it is steadier, and measured here it both
 * named more known faces and rejected more strangers.
 */
export function pooledThreshold(byClass: Float32Array[][], means: Float32Array[]): number {
  const genuine: number[] = [];
  const impostor: number[] = [];
  byClass.forEach((own, c) => {
    const sum = unitSum(own);
    if (own.length > 1) for (const e of own) genuine.push(cosine(e, minusUnit(sum, e)));
    byClass.forEach((other, d) => {
      if (d !== c) for (const e of other) impostor.push(cosine(e, means[c]!));
    });
  });
  return bestSeparation(genuine.length ? genuine : [1], impostor);
}

/** Used when there is nothing to separate (one actor): the pooled figure measured on real photos. */
export const PRIOR_THRESHOLD = 0.93;

/** The middle of the range of scores where false rejects plus false accepts is smallest. */
function bestSeparation(genuine: number[], impostor: number[]): number {
  if (impostor.length === 0) return PRIOR_THRESHOLD;
  let bestError = Infinity;
  let from = LOWEST;
  let to = LOWEST;
  for (let t = LOWEST; t <= HIGHEST + 1e-9; t += 0.0025) {
    const falseReject = genuine.filter((s) => s < t).length / genuine.length;
    const falseAccept = impostor.filter((s) => s >= t).length / impostor.length;
    const error = falseReject + falseAccept;
    if (error < bestError - 1e-12) {
      bestError = error;
      from = to = t;
    } else if (Math.abs(error - bestError) <= 1e-12 && to >= t - 0.003) {
      to = t;
    }
  }
  return Math.round(((from + to) / 2) * 10000) / 10000;
}

function unitSum(list: Float32Array[]): Float32Array {
  const sum = new Float32Array(list[0]?.length ?? 0);
  for (const e of list) {
    const n = length(e);
    for (let i = 0; i < sum.length; i++) sum[i]! += e[i]! / n;
  }
  return sum;
}

/** The sum of a class's unit embeddings without one of them: that class's mean, leaving it out. */
function minusUnit(sum: Float32Array, member: Float32Array): Float32Array {
  const n = length(member);
  return sum.map((x, i) => x - member[i]! / n);
}

function length(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s) || 1;
}

/** What a threshold does on the calibration data. */
export interface OperatingPoint {
  method: 'equal-error' | 'target-rejection';
  threshold: number;
  /** Target fraction of impostor faces rejected (target-rejection only). */
  targetRejection?: number;
  /** Fraction of impostor faces (best score against the actors they are not) under the threshold. */
  impostorsRejected: number;
  /** Fraction of genuine leave-one-out scores at or over it. */
  genuineAccepted: number;
  impostors: number;
  genuine: number;
}

/**
 * Open-set calibration of a cosine nearest-class-mean head. Every enrolled identity is held out in
 * turn as an impostor (its photos' best score against the other actors' means), joined by faces of
 * people who are not enrolled (`unknown`, best score against every mean). The threshold rejects
 * `targetRejection` of them. Without a target it is {@link pooledThreshold}'s equal-error point,
 * which names more known faces (measured on the pooled photos: 95.6% named and 78% of five held-out
 * strangers rejected, against 90.7% and 98% at a 0.9 target); the operating point reports what it
 * does to the held-out identities either way.
 */
export function calibrateNcm(byClass: Float32Array[][], means: Float32Array[], unknown: Float32Array[], targetRejection?: number): OperatingPoint & { scores: { genuine: number[]; impostor: number[] } } {
  const { genuine, impostor } = ncmScores(byClass, means, unknown);
  const threshold =
    targetRejection === undefined || impostor.length === 0
      ? pooledThreshold(byClass, means)
      : quantile(impostor, targetRejection);
  return {
    method: targetRejection === undefined ? 'equal-error' : 'target-rejection',
    threshold,
    ...(targetRejection === undefined ? {} : { targetRejection }),
    impostorsRejected: impostor.length ? impostor.filter((s) => s < threshold).length / impostor.length : 0,
    genuineAccepted: genuine.length ? genuine.filter((s) => s >= threshold).length / genuine.length : 1,
    impostors: impostor.length,
    genuine: genuine.length,
    scores: { genuine, impostor },
  };
}

/** Genuine leave-one-out scores, and impostor best scores with each identity held out in turn. */
function ncmScores(byClass: Float32Array[][], means: Float32Array[], unknown: Float32Array[]): { genuine: number[]; impostor: number[] } {
  const genuine: number[] = [];
  const impostor: number[] = [];
  byClass.forEach((own, c) => {
    const sum = unitSum(own);
    for (const e of own) {
      if (own.length > 1) genuine.push(cosine(e, minusUnit(sum, e)));
      let best = -1;
      means.forEach((m, d) => {
        if (d !== c) best = Math.max(best, cosine(e, m));
      });
      if (means.length > 1) impostor.push(best);
    }
  });
  for (const e of unknown) impostor.push(Math.max(...means.map((m) => cosine(e, m))));
  return { genuine, impostor };
}

/** Leave-one-out confusion counts of the nearest-class-mean head: rows true, columns predicted. */
export function ncmConfusion(byClass: Float32Array[][], means: Float32Array[]): number[][] {
  const confusion = byClass.map(() => new Array<number>(byClass.length).fill(0));
  byClass.forEach((own, c) => {
    const sum = unitSum(own);
    for (const e of own) {
      let best = c;
      let bestScore = own.length > 1 ? cosine(e, minusUnit(sum, e)) : -Infinity;
      means.forEach((m, d) => {
        const s = d === c ? -Infinity : cosine(e, m);
        if (s > bestScore) {
          bestScore = s;
          best = d;
        }
      });
      confusion[c]![best]!++;
    }
  });
  return confusion;
}

/** The smallest score that at least `q` of `values` fall under (ties stay rejected). */
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return Math.round((sorted[Math.max(0, index)]! + 1e-6) * 1e6) / 1e6;
}
