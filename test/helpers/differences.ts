// How far apart two tables of scores are: the largest absolute difference of any cell.

export function worstDifference(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  let worst = 0;
  a.forEach((row, i) => Array.from(row).forEach((v, k) => (worst = Math.max(worst, Math.abs(v - b[i]![k]!)))));
  return worst;
}
