// Open-set calibration of the nearest-class-mean head on synthetic embeddings.
import t from 'tap';
import { classMeans } from '../src/recognize/ncm-head.js';
import { calibrateNcm } from '../src/train/thresholds.js';

function random(seed: number, size = 128): Float32Array {
  let s = seed;
  return new Float32Array(size).map(() => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

/** Classes around random centres, with a shared offset, as face descriptors have. */
function classes(count: number, per: number, spread: number): Float32Array[][] {
  const shared = random(999).map((x) => x * 3);
  return Array.from({ length: count }, (_, c) => {
    const centre = random(c + 1);
    return Array.from({ length: per }, (_, i) => centre.map((x, k) => x + shared[k]! + spread * random(1000 * c + i + 7)[k]!));
  });
}

t.test('a target rejection rate is met on the impostors it was calibrated on', async (t) => {
  const byClass = classes(8, 10, 0.6);
  const means = classMeans(byClass, 128);
  const strangers = classes(3, 10, 0.6).flat().map((e) => e.map((x, k) => x + random(42)[k]!));
  const point = calibrateNcm(byClass, means, strangers, 0.9);
  t.equal(point.method, 'target-rejection');
  t.ok(point.impostorsRejected >= 0.9, `rejected ${point.impostorsRejected}`);
  t.equal(point.impostors, 8 * 10 + strangers.length, 'every enrolled face as a held-out impostor, plus the strangers');
  t.equal(point.genuine, 80);
  const stricter = calibrateNcm(byClass, means, strangers, 0.99);
  t.ok(stricter.threshold >= point.threshold, 'a higher target never lowers the threshold');
  t.ok(stricter.genuineAccepted <= point.genuineAccepted);
});

t.test('without a target: the equal-error point, between the two distributions', async (t) => {
  const byClass = classes(6, 8, 0.5);
  const point = calibrateNcm(byClass, classMeans(byClass, 128), [], undefined);
  t.equal(point.method, 'equal-error');
  t.ok(point.genuineAccepted > 0.8 && point.impostorsRejected > 0.8, JSON.stringify(point));
});
