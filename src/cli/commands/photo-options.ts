// The options of the commands that read folders of photos per actor (train, crops): which photos, drawn how.
import { integer, requiredList } from '../args.js';

export const PHOTO_OPTIONS = {
  dataset: { type: 'string', multiple: true },
  'max-per-actor': { type: 'string' },
  seed: { type: 'string' },
  'no-cache': { type: 'boolean' },
} as const;

/** Their help lines; `seed` says what else the command draws with it. */
export function photoOptionLines(seedDraws: string): string[] {
  return [
    '--dataset DIR        one folder per actor; may repeat (the same person under two folders is one person)',
    '--max-per-actor N    use at most N photos of each actor',
    `--seed N             seed of ${seedDraws} (default 1)`,
    '--no-cache           embed every photo again instead of reading the face cache',
  ];
}

/** The parsed values of PHOTO_OPTIONS. */
export function photoArgs(values: { dataset?: string[]; 'max-per-actor'?: string; seed?: string; 'no-cache'?: boolean }) {
  return {
    datasets: requiredList('dataset', values.dataset),
    maxPerActor: integer('max-per-actor', values['max-per-actor']),
    seed: integer('seed', values.seed),
    cache: !values['no-cache'],
  };
}
