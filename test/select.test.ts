// Dataset hygiene: near-duplicate photos and the choice of the actor's face in a group photo.
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import t from 'tap';
import { chooseFaces, differenceHash, hammingDistance, NEAR_DUPLICATE_BITS } from '../src/train/select.js';
import type { FaceObservation } from '../src/vision/pipeline.js';
import { datasetsMissing, faces } from './helpers/datasets.js';

function random(seed: number): Float32Array {
  let s = seed;
  return new Float32Array(128).map(() => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

function face(embedding: Float32Array, size: number): FaceObservation {
  return {
    box: { x: 0, y: 0, width: size, height: size },
    score: 0.9,
    landmarks: [],
    embedding,
    via: 'detector',
    quality: { score: 1, margin: 0, size: 1, sharpness: 1, pose: 1, detector: 1 },
  };
}

t.test('a resized, re-encoded copy is a near duplicate; another picture is not', async (t) => {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="240" height="180">
    <defs><linearGradient id="g" x1="0" x2="1" y1="0" y2="0.3"><stop offset="0" stop-color="#000"/><stop offset="0.5" stop-color="#fff"/><stop offset="1" stop-color="#000"/></linearGradient></defs>
    <rect width="240" height="180" fill="url(#g)"/>
    <circle cx="70" cy="80" r="50" fill="#eca"/><rect x="140" y="30" width="70" height="120" fill="#c33"/><circle cx="190" cy="150" r="20" fill="#fff"/></svg>`;
  const original = await sharp(Buffer.from(svg)).png().toBuffer();
  const copy = await sharp(original).resize(100).jpeg({ quality: 70 }).toBuffer();
  const other = await sharp(original).flop().png().toBuffer();
  t.ok(hammingDistance(await differenceHash(original), await differenceHash(copy)) <= NEAR_DUPLICATE_BITS);
  t.ok(hammingDistance(await differenceHash(original), await differenceHash(other)) > NEAR_DUPLICATE_BITS);
});

t.test('in group photos the face that agrees with the other photos is chosen, even when smaller', async (t) => {
  const actor = random(1);
  const near = (seed: number) => actor.map((x, i) => x + 0.15 * random(seed)[i]!);
  const photos = [
    ...[10, 11, 13, 14, 15, 16, 17].map((seed) => ({ id: `solo-${seed}`, faces: [face(near(seed), 50)] })),
    { id: 'c', faces: [face(near(12), 40), face(random(99), 90)] },
    { id: 'd', faces: [face(random(98), 80)] },
  ];
  const { chosen, disagreeing } = chooseFaces(photos);
  t.equal(chosen.length, 8);
  t.equal(chosen.find((c) => c.id === 'c')?.face.box.width, 40, 'the smaller, agreeing face of the group photo');
  t.same(disagreeing, ['d'], 'a photo of someone else is dropped');
});

const missing = datasetsMissing();
t.test('the known near-duplicate pair of the five-celebrities set is caught', { skip: missing }, async (t) => {
  const train = await differenceHash(readFileSync(faces('five-celebrities', 'train', 'Ben Affleck', '6.jpg')));
  const val = await differenceHash(readFileSync(faces('five-celebrities', 'val', 'Ben Affleck', '3.jpg')));
  t.ok(hammingDistance(train, val) <= NEAR_DUPLICATE_BITS);
});
