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
