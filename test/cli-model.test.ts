// One model for the CLI and the daemon: --model takes a store or a bundle and defaults to model.dir.
import { cp, mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cliRun } from './helpers/cli.js';
import { datasetsMissing, faces } from './helpers/datasets.js';
import { fiveCelebritiesModel } from './helpers/models.js';
import { video, videosMissing } from './helpers/videos.js';

interface Recognized {
  results: { file: string; faces: { actor: string | null }[]; error?: { code: string } }[];
  model: { version: string } | null;
}

const missing = datasetsMissing();

t.test('recognize, eval and scan answer with the active version of a model store, given or configured', { skip: missing }, async (t) => {
  const bundle = await fiveCelebritiesModel();
  const store = await mkdtemp(path.join(os.tmpdir(), 'ar-cli-store-'));
  const base = JSON.parse(await readFile(path.join(bundle, 'manifest.json'), 'utf8')) as { version: string };
  await cp(bundle, path.join(store, base.version), { recursive: true });
  // A second version of the same head, which the store's pointer makes the active one.
  const other = path.join(store, 'other');
  await cp(bundle, other, { recursive: true });
  const manifest = JSON.parse(await readFile(path.join(other, 'manifest.json'), 'utf8')) as { version: string };
  await writeFile(path.join(other, 'manifest.json'), JSON.stringify({ ...manifest, version: 'other-version' }));
  await writeFile(path.join(store, 'active.json'), JSON.stringify({ version: 'other-version' }));

  const photo = faces('five-celebrities', 'val', 'Mindy Kaling', (await readdir(faces('five-celebrities', 'val', 'Mindy Kaling'))).sort()[0]!);
  const given = await cliRun(['recognize', '--model', store, photo, '--json']);
  t.equal(given.code, 0, given.stderr);
  t.match(given.json, { results: [{ faces: [{ actor: 'Mindy Kaling' }] }], model: { version: 'other-version' } }, '--model STORE: the active version answers');

  const configured = await cliRun(['recognize', photo, '--json'], { ACTOR_RECOGNIZER_MODEL_DIR: store });
  t.equal(configured.code, 0, configured.stderr);
  t.same((configured.json as Recognized).model, { version: 'other-version' }, 'no --model: the configured model.dir, as the daemon runs it');

  const evaluated = await cliRun(['eval', '--dataset', faces('five-celebrities', 'val'), '--json'], { ACTOR_RECOGNIZER_MODEL_DIR: store });
  t.equal(evaluated.code, 0, evaluated.stderr);
  t.match(evaluated.json, { n: 25 }, 'eval without --model scores the configured store');
  t.ok((evaluated.json as { top1: number }).top1 >= 0.9, `top-1 ${(evaluated.json as { top1: number }).top1}`);

  const one = await cliRun(['recognize', '--model', bundle, photo, '--json']);
  t.same((one.json as Recognized).model, { version: base.version }, '--model BUNDLE: that bundle');

  if (!videosMissing()) {
    const scanned = await cliRun(['scan', video('bbt-comic-store-5frames.mp4'), '--json'], { ACTOR_RECOGNIZER_MODEL_DIR: store });
    t.equal(scanned.code, 0, `scan without --model on a store runs (it used to fail with MODEL_NOT_FOUND): ${scanned.stderr}`);
    t.match(scanned.json, { duration: Number, appearances: Array });
  }
});

t.test('a store holding no model: the starter model, as the daemon; with it off, said so, and a clear error', { skip: missing }, async (t) => {
  const empty = path.join(await mkdtemp(path.join(os.tmpdir(), 'ar-cli-empty-')), 'models', 'actors');
  const still = faces('avengers-stills', 'Chris Evans', (await readdir(faces('avengers-stills', 'Chris Evans'))).sort()[0]!);
  const starter = await cliRun(['recognize', still, '--json'], { ACTOR_RECOGNIZER_MODEL_DIR: empty });
  t.equal(starter.code, 0, starter.stderr);
  t.match(starter.json, { results: [{ faces: [{ actor: 'Chris Evans' }] }], model: { version: /^starter-/ } }, 'the starter model names a well-known actor');
  t.match(starter.stderr, /holds no model: answering with the starter model/, 'and says it is the starter');

  const off = { ACTOR_RECOGNIZER_MODEL_DIR: empty, ACTOR_RECOGNIZER_MODEL_STARTER: 'false' };
  const unknown = await cliRun(['recognize', still, '--json'], off);
  t.equal(unknown.code, 0, 'recognize still finds faces without a model');
  t.match(unknown.json, { results: [{ faces: [{ actor: null }] }], model: null });
  t.match(unknown.stderr, /no actor model in .*: train one .* every face is unknown/, 'not silently: stderr says every face is unknown');
  const evaluated = await cliRun(['eval', '--dataset', faces('avengers-stills')], off);
  t.equal(evaluated.code, 1);
  t.match(evaluated.stderr, /^actor-recognizer: MODEL_NOT_FOUND: no actor model in /);
  const typo = await cliRun(['recognize', '--model', path.join(empty, 'nope'), still]);
  t.equal(typo.code, 1);
  t.match(typo.stderr, /MODEL_NOT_FOUND: --model .*nope: no such bundle or model store/);
});

t.test('recognize: a file that cannot be read is reported in its place and fails the command', { skip: missing }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-cli-files-'));
  await mkdir(dir, { recursive: true });
  const text = path.join(dir, 'notes.jpg');
  await writeFile(text, 'not an image');
  const still = faces('avengers-stills', 'Chris Evans', (await readdir(faces('avengers-stills', 'Chris Evans'))).sort()[0]!);
  const run = await cliRun(['recognize', still, text, path.join(dir, 'missing.jpg'), '--json'], { ACTOR_RECOGNIZER_MODEL_DIR: path.join(dir, 'models') });
  t.equal(run.code, 1, 'non-zero exit');
  const out = run.json as Recognized;
  t.equal(out.results.length, 3, 'every file reported on stdout');
  t.equal(out.results[0]!.faces[0]?.actor, 'Chris Evans');
  t.match(out.results[1]!.error, { code: 'IMAGE_INVALID' }, 'bytes that do not decode');
  t.match(out.results[2]!.error, { code: 'FILE_UNREADABLE' }, 'a missing file');
  t.match(run.stderr, /^actor-recognizer: IMAGE_INVALID: 2 of 3 files could not be read: .*notes\.jpg, .*missing\.jpg\n$/m);
});
