// Accuracy on real photos through the CLI, as a user runs it: train, then eval --json.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cliJson, cliRun } from './helpers/cli.js';
import { datasetsMissing, faces, linkSplit, pooledPeople } from './helpers/datasets.js';

interface Eval {
  n: number;
  top1: number;
  perActor: Record<string, { n: number; top1: number }>;
}

const missing = datasetsMissing();

if (missing) {
  t.plan(0, missing);
} else {
  t.test('five-celebrities: trained on train, at least 90% of val named correctly', async (t) => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'ar-five-'));
    const trained = await cliJson<{ version: string; actors: string[]; images: number }>(['train', '--dataset', faces('five-celebrities', 'train'), '--out', out]);
    t.equal(trained.actors.length, 5);
    t.ok(trained.images >= 80, `trained on ${trained.images} photos`);
    const report = await cliJson<Eval>(['eval', '--model', out, '--dataset', faces('five-celebrities', 'val')]);
    t.equal(report.n, 25);
    t.ok(report.top1 >= 0.9, `top-1 ${report.top1}`);
    t.equal(Object.keys(report.perActor).length, 5);
    // The same photos shrunk into a 640×360 frame, the face 24 and 64 px high, through the camera's path.
    const shrunk = await cliJson<Eval & { embedder: string; sizes: { known: Record<string, { n: number; detected: number; named: number; misnamed: number }> } }>(['eval', '--model', out, '--dataset', faces('five-celebrities', 'val'), '--face-sizes', '24,64']);
    t.equal(shrunk.embedder, 'mobilefacenet', 'eval says which embedder it used');
    t.same(Object.keys(shrunk.sizes.known).sort(), ['24', '64']);
    const [tiny, small] = [shrunk.sizes.known['24']!, shrunk.sizes.known['64']!];
    t.ok(small.n >= 20 && small.detected >= 0.9 && small.named >= 0.85, `64 px: ${JSON.stringify(small)}`);
    t.ok(small.misnamed <= 0.05 && tiny.misnamed <= 0.1, 'small faces are rejected rather than misnamed');
    t.ok(tiny.named < small.named, `24 px faces are named less often (${tiny.named}) than 64 px ones (${small.named})`);

    // face-api-68's top-1 on onnx and on the tfjs reference backend: test/slow/accuracy-tfjs.test.ts.

    const photo = faces('five-celebrities', 'val', 'Mindy Kaling', readdirSync(faces('five-celebrities', 'val', 'Mindy Kaling')).sort()[0]!);
    const run = await cliRun(['recognize', '--model', out, photo, '/nonexistent.jpg', '--json']);
    const named = run.json as { results: { file: string; faces: { actor: string | null }[]; error?: { code: string } }[] };
    t.equal(named.results.length, 2, 'every file is reported on stdout');
    t.equal(named.results[0]!.faces[0]?.actor, 'Mindy Kaling', 'recognize names her');
    t.match(named.results[1], { file: '/nonexistent.jpg', faces: [], error: { code: 'FILE_UNREADABLE' } }, 'the missing file is reported in its place');
    t.equal(run.code, 1, 'and the command fails, as the contract says');
    t.match(run.stderr, /^actor-recognizer: FILE_UNREADABLE: 1 of 2 files could not be read: \/nonexistent\.jpg\n$/, 'with a one-line error on stderr');
  });

  t.test('five-celebrities with the dense softmax head: the export matches, the curves are recorded', async (t) => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'ar-five-mlp-'));
    await cliJson(['train', '--dataset', faces('five-celebrities', 'train'), '--out', out, '--head', 'mlp']);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    t.equal(manifest.head.type, 'mlp-softmax');
    t.equal(manifest.head.score, 'probability');
    t.ok(manifest.metrics.head.exportMaxAbsDiff <= 1e-5, `export differs by ${manifest.metrics.head.exportMaxAbsDiff}`);
    for (const run of ['withDropout', 'withoutDropout']) {
      const history = manifest.metrics.head.history[run];
      t.equal(history.accuracy.length, manifest.training.hyperparameters.epochs, `${run}: accuracy per epoch`);
      t.equal(history.valLoss.length, manifest.training.hyperparameters.epochs, `${run}: validation loss per epoch`);
    }
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    for (const figure of ['accuracy', 'loss', 'scores', 'acceptance', 'confusion']) t.match(html, new RegExp(`<figure id="${figure}">[^]*?<svg`), `report.html draws ${figure}`);
    t.ok(manifest.files['report.html'], 'the report is a checked file of the bundle');
    const report = await cliJson<Eval>(['eval', '--model', out, '--dataset', faces('five-celebrities', 'val')]);
    t.ok(report.top1 >= 0.9, `top-1 ${report.top1}`);
  });

  t.test('every faces/ person with 15+ photos pooled, five left out as strangers: 10 photos each to train, the rest named, the strangers rejected', async (t) => {
    const folders = ['bbt', 'five-celebrities/train', 'five-celebrities/val', 'glint-aligned', 'lfw', 'pins'].map((f) => faces(...f.split('/')));
    const people = await pooledPeople(folders);
    t.ok(people.has('Robert Downey Jr') && (people.get('Robert Downey Jr')?.length ?? 0) > 60, 'Robert Downey Jr is one person across glint-aligned and pins');
    // Photos are capped per person to keep the suite short; `eval` on the CLI runs them all (README:
    // 94.2% named and 94.9% of strangers rejected on average over twelve draws of five strangers,
    // eleven of them at least 92% and 90%). LFW's people (10 photos each) are the calibration's unknowns.
    const split = await linkSplit(people, { trainPer: 10, testCap: 10, minPhotos: 15, seed: 3, strangers: 5, strangerCap: 20 });
    const out = await mkdtemp(path.join(os.tmpdir(), 'ar-pooled-'));
    const trained = await cliJson<{ actors: string[]; metrics: { split: { train: number; validation: number; test: number }; test: { top1: number; faces: number } } }>(['train', '--dataset', split.train, '--out', out, '--unknown', faces('lfw')]);
    t.equal(trained.actors.length, split.people.length);
    // Each actor's 10 photos: 2 to validate, 2 to test, the rest (6, fewer where near copies were dropped) to fit.
    t.equal(trained.metrics.split.validation, 2 * split.people.length);
    t.equal(trained.metrics.split.test, 2 * split.people.length);
    t.ok(trained.metrics.split.train >= 5 * split.people.length && trained.metrics.split.train <= 6 * split.people.length, `${trained.metrics.split.train} to fit`);
    t.equal(trained.metrics.test.faces, 2 * split.people.length, 'test metrics on the held-back photos');
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    t.equal(manifest.thresholds.operatingPoint.method, 'target-rejection');
    t.equal(manifest.thresholds.operatingPoint.targetRejection, 0.85);
    t.ok(manifest.metrics.head.exportMaxAbsDiff <= 1e-5, `the exported head gives the cosines within ${manifest.metrics.head.exportMaxAbsDiff}`);
    for (const value of Object.values(manifest.thresholds.perActor) as number[]) t.ok(value > manifest.thresholds.default, 'per-actor thresholds only raise the default');
    const report = await cliJson<Eval & { closedSetTop1: number; unknown: { n: number; rejected: number } }>(['eval', '--model', out, '--dataset', split.test, '--unknown', split.strangers]);
    t.ok(report.n >= split.people.length * 4, `${report.n} test photos`);
    t.ok(report.closedSetTop1 >= 0.95, `closed-set top-1 ${report.closedSetTop1} over ${split.people.length} people`);
    t.ok(report.top1 >= 0.92, `named correctly: ${report.top1}`);
    t.ok(report.unknown.n >= 5 * 15, `${report.unknown.n} photos of five strangers`);
    t.ok(report.unknown.rejected >= 0.9, `strangers (${split.strangerNames.join(', ')}) rejected: ${report.unknown.rejected}`);
  });
}
