// Vector maths of embeddings, in one place: dot products, lengths, cosines, unit vectors.

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * (b[i] ?? 0);
  return s;
}

/** The Euclidean length; 1 for a zero vector, so that dividing by it leaves zeros. */
export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s) || 1;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return dot(a, b) / (norm(a) * norm(b));
}

/** The vector scaled to unit length, as float32 (a zero vector stays zero). */
export function unit(v: ArrayLike<number>): Float32Array {
  const n = norm(v);
  return Float32Array.from(v, (x) => x / n);
}
