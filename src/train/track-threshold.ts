// The threshold for tracks: how far a stranger's faces, added up over a whole shot, may come to an actor.
import { cosine } from '../recognize/ncm-head.js';
import { nearestMean, quantile, spreadThreshold } from './thresholds.js';

/** Faces a simulated short track of an impostor is made of (consecutive faces of one identity). */
const TRACK_FACES = 3;

/**
 * Fraction of impostor identities whose typical short track stays unnamed. A stranger on screen is
 * one identity whatever the number of frames, and the faces of a video that a track adds up are more
 * alike than photos; so the track threshold rejects whole identities, and more of them than the
 * per-face threshold rejects faces.
 */
export const TRACK_REJECT_RATE = 0.97;

/**
 * Fraction of strangers (identities, not faces) a model may name as one of its actors over a long
 * track. Issue 13: a sitcom episode shows some twenty people nobody enrolled, and one of them named
 * for all their shots is enough to break a precision of 0.95; 0.005 keeps that to one episode in ten.
 */
export const TRACK_STRANGER_RATE = 0.005;

/** An impostor identity: its faces, and the actor it is (held out in turn), or -1 for a stranger. */
export type TrackImpostors = Map<string, { faces: readonly Float32Array[]; own: number }>;

/**
 * The threshold on a track's spread-corrected aggregate cosine (see {@link spreadThreshold}): the
 * higher of two bars, when there are at least five impostor identities.
 *
 * - Short tracks: each impostor identity's faces, taken TRACK_FACES at a time, give mean embeddings
 *   whose best cosine to the class means (its own left out, for an actor held out) is divided by its
 *   spread factor; the median of those is the identity's typical track, and the bar leaves
 *   TRACK_REJECT_RATE of the identities under it.
 * - Long tracks (see {@link strangerTail}): a stranger on screen for a whole scene adds up tens of
 *   faces of one look, its noise averages away and its aggregate is the cosine of its own mean face
 *   to an actor's. With 86 strangers in the cohort the 0.97 quantile of identities is the third
 *   highest: the unenrolled AOC clip came out as Madonna at 0.44 against a bar of 0.41 on the stills
 *   model of 11 actors (her mean's cosine was past every one of the cohort's 86 × 11 pairs but one).
 */
export function trackThreshold(impostors: TrackImpostors, means: readonly Float32Array[]): number | undefined {
  const typical: number[] = [];
  for (const { faces, own } of impostors.values()) {
    const scores: number[] = [];
    for (let i = 0; i + TRACK_FACES <= faces.length; i += TRACK_FACES) {
      const { mean, length } = meanFace(faces.slice(i, i + TRACK_FACES));
      scores.push(nearestMean(mean, means, own).score / spreadThreshold(1, length));
    }
    if (scores.length) typical.push(quantile(scores, 0.5));
  }
  if (typical.length < 5) return undefined;
  return Math.max(quantile(typical, TRACK_REJECT_RATE), strangerTail(impostors, means));
}

/**
 * The long-track bar: every impostor identity's mean face against every other actor's mean gives one
 * spread-corrected cosine per pair; their mean μ and deviation σ (a normal fits them: on the stills
 * model 3 pairs of 946 over 0.40 and 1 over 0.44, where it predicts 3.0 and 1.2) place the cosine
 * that a stranger's mean passes for any of the K actors with probability TRACK_STRANGER_RATE,
 * μ + z·σ with z the normal quantile of 1 − rate / K. Extrapolated, since no cohort is big enough to
 * count one stranger in two hundred; and higher for a larger cast, as a stranger has more actors to
 * be taken for.
 */
export function strangerTail(impostors: TrackImpostors, means: readonly Float32Array[], rate = TRACK_STRANGER_RATE): number {
  const pairs: number[] = [];
  for (const { faces, own } of impostors.values()) {
    if (faces.length === 0) continue;
    const { mean, length } = meanFace(faces);
    const spread = spreadThreshold(1, length);
    means.forEach((m, a) => {
      if (a !== own) pairs.push(cosine(mean, m) / spread);
    });
  }
  if (pairs.length < 2 || means.length === 0) return -Infinity;
  const mu = pairs.reduce((s, x) => s + x, 0) / pairs.length;
  const sigma = Math.sqrt(pairs.reduce((s, x) => s + (x - mu) ** 2, 0) / (pairs.length - 1));
  return Math.round((mu + normalQuantile(1 - rate / means.length) * sigma) * 1e6) / 1e6;
}

/** The mean of the faces' unit embeddings, and its length (1 when they agree, shorter as they differ). */
function meanFace(faces: readonly Float32Array[]): { mean: Float32Array; length: number } {
  const size = faces[0]!.length;
  const mean = new Float32Array(size);
  for (const f of faces) {
    let n = 0;
    for (const x of f) n += x * x;
    n = Math.sqrt(n) || 1;
    for (let k = 0; k < size; k++) mean[k]! += f[k]! / n / faces.length;
  }
  let length = 0;
  for (const x of mean) length += x * x;
  return { mean, length: Math.sqrt(length) };
}

/** The standard normal quantile of p (0 < p < 1), by bisection on the complementary error function (Abramowitz and Stegun 7.1.26, error under 1.5e-7). */
export function normalQuantile(p: number): number {
  const upper = (z: number) => {
    // P(Z > z) for z ≥ 0.
    const x = z / Math.SQRT2;
    const t = 1 / (1 + 0.3275911 * x);
    const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return 0.5 * poly * Math.exp(-x * x);
  };
  if (p === 0.5) return 0;
  if (p < 0.5) return -normalQuantile(1 - p);
  let lo = 0;
  let hi = 10;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (upper(mid) > 1 - p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
