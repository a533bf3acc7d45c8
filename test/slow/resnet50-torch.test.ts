// The original ResNet50 recipe end to end: the daemon's chips exported, one epoch of PyTorch training, and the
// daemon running the bundle with PyTorch's answers. In `npm run test:slow` (CI runs it): the training is a
// minute and a half of CPU; test/resnet50.test.ts checks the image-classifier bundles without PyTorch.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp as makeTemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { buildApp } from '../../src/api/app.js';
import { silentLogger } from '../../src/logger.js';
import { loadVerified } from '../../src/models/verified-model.js';
import { ActorModel } from '../../src/recognize/actor-model.js';
import type { Manifest } from '../../src/recognize/manifest.js';
import { Recognizer } from '../../src/recognize/recognizer.js';
import { decodeImage } from '../../src/vision/decode.js';
import { cliJson } from '../helpers/cli.js';
import { datasetsMissing, faces, linkSplit, pooledPeople, ROOT } from '../helpers/datasets.js';
import { worstDifference } from '../helpers/differences.js';
import { testPipeline } from '../helpers/models.js';

const run = promisify(execFile);
const RECIPE = path.join(ROOT, 'training', 'resnet50');
const LIMIT = { maxPixels: 40_000_000 };

// A trained bundle and its state_dict are 200 MB: every folder made here goes when the tests end.
const made: string[] = [];
t.teardown(() => Promise.all(made.map((dir) => rm(dir, { recursive: true, force: true }))));
async function mkdtemp(prefix: string): Promise<string> {
  made.push(await makeTemp(prefix));
  return made.at(-1)!;
}

/** The interpreter that has Debian's python3-torch and python3-torchvision (not necessarily the one on PATH). */
function torchPython(): string | undefined {
  for (const python of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(python, ['-c', 'import torch, torchvision'], { stdio: 'ignore', timeout: 60_000 });
      return python;
    } catch {
      // Not this one; try the next.
    }
  }
  return undefined;
}

const missing = datasetsMissing();
const python = missing ? undefined : torchPython();
const skip = missing ?? (python ? undefined : 'no python3 with torch and torchvision (Debian: apt-get install python3-torch python3-torchvision): skipped');

t.test('crops, one epoch of PyTorch training, and the daemon give the same probabilities within 1e-4', { skip }, async (t) => {
  const people = await pooledPeople([faces('five-celebrities', 'train')]);
  const three = new Map(['Ben Affleck', 'Madonna', 'Mindy Kaling'].map((p) => [p, people.get(p)!]));
  const split = await linkSplit(three, { trainPer: 4, testCap: 1, minPhotos: 5, seed: 3 });
  made.push(path.dirname(split.train));
  const work = await mkdtemp(path.join(os.tmpdir(), 'ar-resnet50-'));
  const [crops, bundle, state] = ['crops', 'bundle', 'model.pt'].map((p) => path.join(work, p)) as [string, string, string];

  let started = performance.now();
  const exported = await cliJson<{ actors: Record<string, number>; images: number }>(['crops', '--dataset', split.train, '--out', crops]);
  t.same(Object.keys(exported.actors), [...three.keys()], 'a folder of crops per actor');
  t.ok(exported.images >= 10, `${exported.images} crops of 12 photos, in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  const index = JSON.parse(await readFile(path.join(crops, 'crops.json'), 'utf8')) as { actors: Record<string, { file: string; source: string }[]> };
  const entries = Object.values(index.actors).flat();
  const files = entries.map((e) => path.join(crops, e.file));
  const chips = await Promise.all(files.map(async (f) => decodeImage(await readFile(f), LIMIT)));
  t.ok(
    chips.every((c) => c.width === 150 && c.height === 150),
    'the 150×150 aligned chips',
  );

  started = performance.now();
  const trained = await run(
    python!,
    [path.join(RECIPE, 'train.py'), '--crops', crops, '--out', bundle, '--epochs', '1', '--threads', '2', '--save-state', state, '--json'],
    { timeout: 600_000, maxBuffer: 16 << 20 },
  );
  t.match(
    trained.stdout,
    /epoch 1\/1 - loss [\d.]+ - accuracy [\d.]+ - val_loss/,
    `a line per epoch; trained and exported in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  const summary = JSON.parse(trained.stdout.trim().split('\n').pop()!) as { version: string; actors: string[] };
  t.same(summary.actors, [...three.keys()]);

  const model = await loadVerified(bundle, { threads: 2 });
  t.teardown(() => model.release());
  t.equal(model.version, summary.version);
  t.equal(model.manifest.kind, 'image-classifier');
  const daemon = await model.chipScores(chips);
  const predicted = await run(python!, [path.join(RECIPE, 'predict.py'), '--bundle', bundle, '--state', state, '--threads', '2', ...files], {
    timeout: 600_000,
    maxBuffer: 16 << 20,
  });
  const torch = (JSON.parse(predicted.stdout) as { results: { probabilities: number[] }[] }).results.map((r) => r.probabilities);
  const worst = worstDifference(daemon, torch);
  t.ok(worst < 1e-4, `the daemon's probabilities are PyTorch's within ${worst.toExponential(2)} (${files.length} crops × 3 actors)`);
  // The comparison can fail: the crops get clearly different answers, and a wrong colour order moves them.
  const spread = worstDifference(
    torch,
    torch.map(() => torch[0]!),
  );
  t.ok(spread > 0.01, `the probabilities differ between crops by up to ${spread.toFixed(3)}`);
  const swapped = await mkdtemp(path.join(os.tmpdir(), 'ar-bgr-'));
  for (const file of ['model.onnx', 'metrics.json']) await symlink(path.join(bundle, file), path.join(swapped, file));
  const manifest = JSON.parse(await readFile(path.join(bundle, 'manifest.json'), 'utf8')) as Manifest;
  await writeFile(path.join(swapped, 'manifest.json'), JSON.stringify({ ...manifest, input: { ...manifest.input, colour: 'BGR' } }));
  const bgr = await ActorModel.load(swapped, { threads: 2 });
  const off = worstDifference(await bgr.chipScores(chips), torch);
  await bgr.release();
  t.ok(off > 1e-3, `fed in the wrong colour order the daemon is off by ${off.toFixed(4)}`);

  // The daemon cuts the same chips from the photos themselves: the same answers, through the recognizer.
  const recognizer = new Recognizer(await testPipeline(), { current: () => model }, LIMIT);
  let compared = 0;
  for (const [i, entry] of entries.entries()) {
    const { faces: found } = await recognizer.nameFaces(await decodeImage(await readFile(entry.source), LIMIT), { fallback: 'face-crop' });
    if (found.length !== 1) continue;
    const scores = Object.fromEntries(found[0]!.candidates.map((c) => [c.actor, c.score]));
    t.ok(worstDifference([summary.actors.map((a) => scores[a]!)], [torch[i]!]) < 1e-4, `${entry.file}: the photo is named as its crop`);
    compared++;
  }
  t.ok(compared >= 6, `${compared} single-face photos compared`);

  const app = await buildApp(
    { recognizer, models: { current: () => model, currentSource: () => bundle }, notReady: () => [] },
    { bodyLimitBytes: 20 << 20, logger: silentLogger(), version: 'test' },
  );
  t.teardown(() => app.close());
  const person = (await readdir(split.test))[0]!;
  const photo = await readFile(path.join(split.test, person, (await readdir(path.join(split.test, person)))[0]!));
  const res = await app.inject({ method: 'POST', url: '/v1/recognize', payload: photo, headers: { 'content-type': 'image/jpeg' } });
  t.equal(res.statusCode, 200);
  const answer = res.json() as { faces: { candidates: { actor: string; score: number }[] }[]; model: { version: string } };
  t.equal(answer.model.version, summary.version, 'answered by the ResNet50 bundle');
  t.ok(answer.faces.length >= 1, `${answer.faces.length} face(s) in a photo of ${person} not seen in training`);
  const total = answer.faces[0]!.candidates.reduce((s, c) => s + c.score, 0);
  t.ok(Math.abs(total - 1) < 1e-4, `three probabilities summing to ${total.toFixed(5)}`);
});
