// "Did you mean …?": the known name nearest to a mistyped one (environment variables, commands, flags).

/** Levenshtein distance: insertions, deletions and substitutions, each costing 1. */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next[j] = Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + cost);
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

/**
 * The known name nearest to `name`, the first of equals, when it is at most `maxDistance` edits
 * away: by default a third of the name's length (without leading dashes), at most three, which
 * covers a slip of the fingers without offering an unrelated short word (`--bogus` is three edits
 * from `--out`).
 */
export function closest(name: string, known: Iterable<string>, maxDistance = Math.min(3, Math.ceil(name.replace(/^-+/, '').length / 3))): string | undefined {
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** ` (did you mean X?)`, or nothing when no known name is near. */
export function didYouMean(name: string, known: Iterable<string>): string {
  const best = closest(name, known);
  return best === undefined ? '' : ` (did you mean ${best}?)`;
}
