// A seeded, per-actor (stratified) split of the chosen faces into train, validation and test.
import { seededShuffle } from './dataset.js';

/** Fractions of each actor's faces held back for validation and for test. */
export interface SplitFractions {
  validation: number;
  test: number;
}

export const SPLIT_DEFAULTS: SplitFractions = { validation: 0.2, test: 0.2 };

/** Below this many faces an actor's faces all go to training: one photo left to learn from is too few. */
export const MIN_TO_SPLIT = 5;

export interface Split<T> {
  train: T[];
  validation: T[];
  test: T[];
}

/**
 * Splits one actor's faces. Every actor with at least {@link MIN_TO_SPLIT} faces keeps at least one
 * face in each part and at least half for training; the same seed and input give the same split.
 */
export function splitActor<T>(items: readonly T[], seed: number, fractions: SplitFractions = SPLIT_DEFAULTS): Split<T> {
  if (items.length < MIN_TO_SPLIT || fractions.validation + fractions.test <= 0) return { train: [...items], validation: [], test: [] };
  const shuffled = seededShuffle(items, seed);
  const n = shuffled.length;
  const held = (fraction: number) => (fraction > 0 ? Math.max(1, Math.round(n * fraction)) : 0);
  let test = held(fractions.test);
  let validation = held(fractions.validation);
  // Never leave training with less than half the faces.
  while (test + validation > Math.floor(n / 2)) {
    if (validation >= test && validation > 0) validation--;
    else test--;
  }
  return { test: shuffled.slice(0, test), validation: shuffled.slice(test, test + validation), train: shuffled.slice(test + validation) };
}

/** Splits every actor, each with a seed from `seed` and its name, so adding an actor moves no other's split. */
export function splitAll<T>(
  actors: readonly string[],
  byActor: readonly (readonly T[])[],
  seed: number,
  fractions: SplitFractions = SPLIT_DEFAULTS,
): Split<T[]> {
  const parts = byActor.map((items, k) => splitActor(items, (seed ^ nameHash(actors[k]!)) >>> 0, fractions));
  return { train: parts.map((p) => p.train), validation: parts.map((p) => p.validation), test: parts.map((p) => p.test) };
}

/** FNV-1a of a name: a stable number per actor. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (const c of name) h = Math.imul(h ^ c.codePointAt(0)!, 0x01000193);
  return h >>> 0;
}
