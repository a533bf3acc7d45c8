// Accuracy on real photos through the CLI, as a user runs it: train, then eval --json. In `npm run test:slow`
// (CI runs it): a minute of training and evaluation.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cliJson, cliRun } from '../helpers/cli.js';
import { datasetsMissing, faces } from '../helpers/datasets.js';

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
    const trained = await cliJson<{ version: string; actors: string[]; images: number }>([
      'train',
      '--dataset',
      faces('five-celebrities', 'train'),
      '--out',
      out,
    ]);
    t.equal(trained.actors.length, 5);
    t.ok(trained.images >= 80, `trained on ${trained.images} photos`);
    const report = await cliJson<Eval>(['eval', '--model', out, '--dataset', faces('five-celebrities', 'val')]);
    t.equal(report.n, 25);
    t.ok(report.top1 >= 0.9, `top-1 ${report.top1}`);
    t.equal(Object.keys(report.perActor).length, 5);
    // The same photos shrunk into a 640×360 frame, the face 24 and 64 px high, through the camera's path.
    const shrunk = await cliJson<
      Eval & { embedder: string; sizes: { known: Record<string, { n: number; detected: number; named: number; misnamed: number }> } }
    >(['eval', '--model', out, '--dataset', faces('five-celebrities', 'val'), '--face-sizes', '24,64']);
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
    for (const figure of ['accuracy', 'loss', 'scores', 'acceptance', 'confusion'])
      t.match(html, new RegExp(`<figure id="${figure}">[^]*?<svg`), `report.html draws ${figure}`);
    t.ok(manifest.files['report.html'], 'the report is a checked file of the bundle');
    const report = await cliJson<Eval>(['eval', '--model', out, '--dataset', faces('five-celebrities', 'val')]);
    t.ok(report.top1 >= 0.9, `top-1 ${report.top1}`);
  });

  // Every faces/ person with 15+ photos pooled, five left out as strangers: test/slow/accuracy-pooled.test.ts.
}
