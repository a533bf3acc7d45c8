// The Hera Pheri scene through scan's path, scored against its labels: small faces, a stranger, a short shot.
// In `npm run test:slow` (CI runs it): `eval --footage` analyses every fifth of a second of the scene with the
// second look for small faces, most of a minute of CPU; test/footage.test.ts scores the Avengers corridor.
import t from 'tap';
import { cliJson } from '../helpers/cli.js';
import { datasetsMissing } from '../helpers/datasets.js';
import { fixture, stillsModel, type FootageJson } from '../helpers/footage.js';
import { video, videosMissing } from '../helpers/videos.js';

t.test('eval --footage: the Hera Pheri scene, nobody misnamed', { skip: datasetsMissing() ?? videosMissing() }, async (t) => {
  const model = await stillsModel();
  // Three men 24–48 px high in a wide shot, a woman nobody enrolled, and a last shot of a quarter second.
  const hera = await cliJson<FootageJson>(['eval', '--model', model, '--footage', fixture('hera-pheri-scene.json'), '--video', video('hera-pheri-scene.mp4')]);
  t.ok(hera.precision >= 0.95, `hera precision ${hera.precision}`);
  // Issue 13's bar. The last shot's 24 px Akshay Kumar is named only because his track followed him
  // through his turn to profile in the first shot and the last shot takes the first one up again.
  t.ok(hera.recall >= 0.9, `hera recall ${hera.recall}`);
  const small = hera.faces['36-60']!;
  t.ok(small.detected >= 0.9, `faces of 36–60 px detected: ${small.detected}`);
  t.ok(small.namedByTrack >= 0.6, `faces of 36–60 px named by their track: ${small.namedByTrack}`);
  t.ok(hera.faces['<36']!.namedByTrack >= 0.6, `faces under 36 px named by their track: ${hera.faces['<36']!.namedByTrack}`);
  t.equal(hera.faces['>=60']!.strangersNamed, 0, 'the woman nobody enrolled is never named');
});
