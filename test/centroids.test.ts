// centroids.json: class means written short, read back as exactly the float32 values the head holds.
import t from 'tap';
import { serializeCentroids } from '../src/recognize/centroids.js';

t.test("every mean reads back bit for bit as float32, in fewer bytes than with a double's digits", async (t) => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  const means = Array.from({ length: 20 }, () => Array.from(Float32Array.from({ length: 192 }, () => random() * 0.2)));
  means[0]![0] = 0;
  means[0]![1] = Math.fround(1e-30);
  means[0]![2] = Math.fround(-0.1);
  const classes = means.map((mean, i) => ({ actor: `Actor ${i}`, count: 3, mean }));
  const text = serializeCentroids(192, classes);
  const parsed = JSON.parse(text) as { classes: { mean: number[] }[] };
  const bitsEqual = parsed.classes.every((c, i) => {
    const back = new Uint32Array(Float32Array.from(c.mean).buffer);
    const original = new Uint32Array(Float32Array.from(means[i]!).buffer);
    return back.every((b, k) => b === original[k]);
  });
  t.ok(bitsEqual, 'the same float32 bits');
  const long = JSON.stringify({ classes });
  t.ok(text.length < long.length * 0.7, `${text.length} bytes against ${long.length}`);
});
