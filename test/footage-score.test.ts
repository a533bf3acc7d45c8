// Footage scoring on made-up labels: shots, actors, faces by size, and labels that are refused.
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { readFootageLabels, type FootageLabels } from '../src/track/footage-labels.js';
import { scoreFaces, scoreShots, type ScoredAppearance } from '../src/track/footage-score.js';

const labels: FootageLabels = {
  video: 'scene.mp4',
  shots: [
    { start: 0, end: 2, present: ['Ann', 'Bob'], unknown: 0 },
    { start: 2, end: 3, present: ['Ann'], unknown: 1 },
    { start: 3, end: 5, present: ['Cid'], unknown: 0 },
  ],
  frames: [
    {
      t: 1,
      faces: [
        { who: 'Ann', box: { x: 10, y: 10, width: 30, height: 30 } },
        { who: 'Bob', box: { x: 100, y: 10, width: 80, height: 80 } },
      ],
    },
    { t: 2.4, faces: [{ who: null, box: { x: 200, y: 10, width: 50, height: 50 } }] },
  ],
};
const box = (x: number, size: number) => ({ x, y: 10, width: size, height: size });
const seen = (actor: string | null, times: number[], x = 10, size = 30): ScoredAppearance => ({
  actor,
  start: times[0]!,
  end: times.at(-1)!,
  samples: times.map((t) => ({ t, box: box(x, size) })),
});

t.test('shots: an actor counts where a track of theirs has a sample; a track across a cut answers for both shots', async (t) => {
  const score = scoreShots(labels, [seen('Ann', [0.2, 0.4, 1]), seen('Bob', [1.8, 2.2], 100, 80), seen(null, [3.4])], ['Ann', 'Bob', 'Cid']);
  t.equal(score.shots, 3);
  t.equal(score.present, 4);
  t.equal(score.answered, 3, 'Ann in shot 1, Bob in shots 1 and 2');
  t.equal(score.right, 2);
  t.equal(score.precision, 2 / 3);
  t.equal(score.recall, 0.5);
  t.same(score.perActor['Bob'], { precision: 0.5, recall: 1, present: 1, answered: 2, right: 1 }, "Bob's track ran into the next shot");
  t.same(score.perActor['Cid'], { precision: 1, recall: 0, present: 1, answered: 0, right: 0 });
  t.same(score.detail[1], { start: 2, end: 3, present: ['Ann'], answered: ['Bob'] });
});

t.test('people the model does not know are left out of recall, and said', async (t) => {
  const score = scoreShots(labels, [seen('Ann', [1])], ['Ann']);
  t.same(score.notEnrolled, ['Bob', 'Cid']);
  t.equal(score.present, 2);
  t.equal(score.recall, 0.5);
});

t.test('faces by size: detected, named by the frame, named by the track near that time', async (t) => {
  const frames = [
    {
      t: 1,
      faces: [
        { box: box(12, 28), actor: null },
        { box: box(100, 80), actor: 'Bob' },
      ],
    },
    { t: 2.4, faces: [{ box: box(200, 50), actor: 'Ann' }] },
  ];
  const bands = scoreFaces(labels, frames, [seen('Ann', [0.8, 1.0, 1.2], 10, 30), seen('Bob', [3], 100, 80)], 0.2, ['Ann', 'Bob']);
  t.same(
    bands['<36'],
    { faces: 1, detected: 1, namedByFrame: 0, namedByTrack: 1, strangers: 0, strangersNamed: 0 },
    'Ann: found, unnamed by her frame, named by her track',
  );
  t.same(bands['>=60'], { faces: 1, detected: 1, namedByFrame: 1, namedByTrack: 0, strangers: 0, strangersNamed: 0 }, "Bob's track was not there at that time");
  t.same(
    bands['36-60'],
    { faces: 0, detected: 0, namedByFrame: 0, namedByTrack: 0, strangers: 1, strangersNamed: 1 },
    'a stranger named as anyone counts against us',
  );
});

t.test('labels are checked: a missing field or a shot that ends before it starts is refused, and the video resolves next to the file', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-labels-'));
  const good = path.join(dir, 'good.json');
  await writeFile(good, JSON.stringify(labels));
  t.equal((await readFootageLabels(good)).video, path.join(dir, 'scene.mp4'));
  t.equal((await readFootageLabels(good, '/elsewhere.mp4')).video, '/elsewhere.mp4');
  const bad = path.join(dir, 'bad.json');
  await writeFile(bad, JSON.stringify({ ...labels, shots: [{ start: 2, end: 1, present: [], unknown: 0 }] }));
  await t.rejects(readFootageLabels(bad), { code: 'DATASET_INVALID', message: /ends .* before it starts/ });
  await writeFile(bad, JSON.stringify({ video: 'x.mp4' }));
  await t.rejects(readFootageLabels(bad), { code: 'DATASET_INVALID', message: /shots/ });
});
