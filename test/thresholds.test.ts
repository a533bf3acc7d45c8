// Open-set calibration and the train/validation/test split, on synthetic embeddings.
import t from 'tap';
import { classMeans } from '../src/recognize/ncm-head.js';
import { splitActor, splitAll } from '../src/train/split.js';
import { calibrate, heldOutImpostors, ncmGenuine, nearestMean, spreadThreshold, unknownImpostors, type ImpostorScore } from '../src/train/thresholds.js';
import { normalQuantile, strangerTail, trackThreshold, TRACK_REJECT_RATE, TRACK_STRANGER_RATE, type TrackImpostors } from '../src/train/track-threshold.js';

function random(seed: number, size = 128): Float32Array {
  let s = seed;
  return new Float32Array(size).map(() => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

/** Classes around random centres, with a shared offset, as face descriptors have. */
function classes(count: number, per: number, spread: number, first = 1): Float32Array[][] {
  const shared = random(999).map((x) => x * 3);
  return Array.from({ length: count }, (_, c) => {
    const centre = random(c + first);
    return Array.from({ length: per }, (_, i) => {
      const noise = random(1000 * (c + first) + i + 7);
      return centre.map((x, k) => x + shared[k]! + spread * noise[k]!);
    });
  });
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `actor ${i}`);

t.test('a target rejection rate is met for that share of the impostor identities it was calibrated on', async (t) => {
  const train = classes(8, 10, 0.6);
  const validation = classes(8, 3, 0.6);
  const means = classMeans(train, 128);
  const strangers = classes(3, 10, 0.6, 50).flatMap((list, c) => list.map((embedding) => ({ identity: `stranger ${c}`, embedding })));
  const impostors = [...heldOutImpostors(names(8), train, means), ...unknownImpostors(strangers, means)];
  t.equal(impostors.length, 80 + 30, 'every enrolled face as a held-out impostor, plus the strangers');
  const genuine = ncmGenuine(validation, means);
  const calibration = calibrate(genuine, impostors, 8, 0.9);
  t.equal(calibration.point.method, 'target-rejection');
  t.equal(calibration.point.identities, 11, 'eight held-out actors and three strangers');
  t.ok(calibration.point.identitiesRejected >= 0.9, `identities rejected ${calibration.point.identitiesRejected}`);
  t.ok(
    calibration.perActor.every((p) => p >= calibration.default),
    'no actor is easier to pass than the default',
  );
  const stricter = calibrate(genuine, impostors, 8, 0.99);
  t.ok(stricter.default >= calibration.default, 'a higher target never lowers the threshold');
  t.ok(stricter.point.genuineAccepted <= calibration.point.genuineAccepted);
});

t.test('an actor that many impostors come out as gets a threshold of its own', async (t) => {
  const impostors: ImpostorScore[] = [];
  for (let i = 0; i < 100; i++) impostors.push({ identity: `p${i % 20}`, actor: i < 10 ? 1 : 0, score: 0.6 + (i % 10) * 0.01 });
  // Actor 2 attracts one look-alike (of 21 people) whose faces all score high.
  for (let i = 0; i < 12; i++) impostors.push({ identity: 'look-alike', actor: 2, score: 0.9 + i * 0.005 });
  const { default: base, perActor } = calibrate([], impostors, 3, 0.9);
  t.ok(perActor[2]! > base, `actor 2: ${perActor[2]} over ${base}`);
  t.ok(perActor[2]! >= 0.95, 'above 90% of the look-alike faces');
  t.equal(perActor[1], base, 'ten faces or fewer: the default');
});

t.test('without a target: the equal-error point, between the two distributions', async (t) => {
  const train = classes(6, 8, 0.5);
  const means = classMeans(train, 128);
  const calibration = calibrate(ncmGenuine(classes(6, 3, 0.5), means), heldOutImpostors(names(6), train, means), 6, undefined);
  t.equal(calibration.point.method, 'equal-error');
  t.ok(calibration.point.genuineAccepted > 0.8 && calibration.point.impostorsRejected > 0.8, JSON.stringify(calibration.point));
});

t.test('the split is per actor, seeded, and leaves small actors whole', async (t) => {
  const items = Array.from({ length: 10 }, (_, i) => i);
  const a = splitActor(items, 7);
  t.same([a.train.length, a.validation.length, a.test.length], [6, 2, 2]);
  t.same(
    [...a.train, ...a.validation, ...a.test].sort((x, y) => x - y),
    items,
    'every face in exactly one part',
  );
  t.same(splitActor(items, 7), a, 'the same seed, the same split');
  t.notSame(splitActor(items, 8), a, 'another seed, another split');
  t.same(splitActor([1, 2, 3, 4], 7), { train: [1, 2, 3, 4], validation: [], test: [] });
  const five = splitActor([1, 2, 3, 4, 5], 7);
  t.same([five.train.length, five.validation.length, five.test.length], [3, 1, 1]);
  t.same(splitActor(items, 7, { validation: 0, test: 0 }).train.length, 10);
  const both = splitAll(['b', 'c'], [items, items], 3);
  const alone = splitAll(['a', 'b', 'c'], [[1, 2], items, items], 3);
  t.same(alone.test.slice(1), both.test, "adding an actor changes no other actor's split");
});

t.test('the track threshold names one stranger in two hundred, where the 0.97 quantile of identities named three in a hundred', async (t) => {
  const actors = classes(11, 5, 0.6);
  const means = classMeans(actors, 128);
  const impostors: TrackImpostors = new Map(actors.map((faces, own) => [`actor ${own}`, { faces, own }]));
  classes(86, 5, 0.6, 100).forEach((faces, c) => impostors.set(`stranger ${c}`, { faces, own: -1 }));
  const bar = trackThreshold(impostors, means)!;
  t.equal(bar, strangerTail(impostors, means), 'the long-track bar is the higher one here');
  // Strangers the calibration never saw, of the same kind: the aggregate of each one's faces.
  const aggregate = (faces: readonly Float32Array[]) => {
    const mean = new Float32Array(128);
    for (const f of faces) {
      const n = Math.hypot(...f) * faces.length;
      for (let k = 0; k < 128; k++) mean[k]! += f[k]! / n;
    }
    return nearestMean(mean, means).score / spreadThreshold(1, Math.hypot(...mean));
  };
  const fresh = classes(2000, 5, 0.6, 5000).map(aggregate);
  const named = fresh.filter((s) => s >= bar).length / fresh.length;
  t.ok(named <= 2 * TRACK_STRANGER_RATE, `${(named * 100).toFixed(2)}% of 2000 new strangers named`);
  const sorted = [...fresh].sort((a, b) => b - a);
  t.ok(bar > sorted[Math.floor((1 - TRACK_REJECT_RATE) * fresh.length)]!, 'over the bar that rejects only TRACK_REJECT_RATE of them');
  const genuine = classes(11, 5, 0.6).map(aggregate);
  t.ok(Math.min(...genuine) > bar, 'every actor still named from their own faces');
  t.ok(strangerTail(impostors, means, TRACK_STRANGER_RATE / 10) > strangerTail(impostors, means), 'a lower rate, a higher bar');
});

t.test('the normal quantile', async (t) => {
  for (const [p, z] of [
    [0.5, 0],
    [0.975, 1.96],
    [0.99, 2.3263],
    [0.999, 3.0902],
    [0.025, -1.96],
  ] as const)
    t.ok(Math.abs(normalQuantile(p) - z) < 1e-3, `${p}: ${normalQuantile(p)}`);
});
