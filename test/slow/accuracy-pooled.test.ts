// Accuracy over every faces/ person with 15+ photos, through the CLI: train on 10 each, eval the rest and
// five people left out as strangers. In `npm run test:slow` (CI runs it): it embeds about 1,100 photos,
// more than a minute of CPU; test/accuracy.test.ts checks five-celebrities the same way.
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cliJson } from '../helpers/cli.js';
import { datasetsMissing, faces, linkSplit, pooledPeople } from '../helpers/datasets.js';

interface Eval {
  n: number;
  top1: number;
  perActor: Record<string, { n: number; top1: number }>;
}

t.test(
  'every faces/ person with 15+ photos pooled, five left out as strangers: 10 photos each to train, the rest named, the strangers rejected',
  { skip: datasetsMissing() },
  async (t) => {
    const folders = ['bbt', 'five-celebrities/train', 'five-celebrities/val', 'glint-aligned', 'lfw', 'pins'].map((f) => faces(...f.split('/')));
    const people = await pooledPeople(folders);
    t.ok(people.has('Robert Downey Jr') && (people.get('Robert Downey Jr')?.length ?? 0) > 60, 'Robert Downey Jr is one person across glint-aligned and pins');
    // Photos are capped per person to keep the suite short; `eval` on the CLI runs them all (README:
    // 94.2% named and 94.9% of strangers rejected on average over twelve draws of five strangers,
    // eleven of them at least 92% and 90%). LFW's people (10 photos each) are the calibration's unknowns.
    const split = await linkSplit(people, { trainPer: 10, testCap: 10, minPhotos: 15, seed: 3, strangers: 5, strangerCap: 20 });
    const out = await mkdtemp(path.join(os.tmpdir(), 'ar-pooled-'));
    const trained = await cliJson<{
      actors: string[];
      metrics: { split: { train: number; validation: number; test: number }; test: { top1: number; faces: number } };
    }>(['train', '--dataset', split.train, '--out', out, '--unknown', faces('lfw')]);
    t.equal(trained.actors.length, split.people.length);
    // Each actor's 10 photos: 2 to validate, 2 to test, the rest (6, fewer where near copies were dropped) to fit.
    t.equal(trained.metrics.split.validation, 2 * split.people.length);
    t.equal(trained.metrics.split.test, 2 * split.people.length);
    t.ok(
      trained.metrics.split.train >= 5 * split.people.length && trained.metrics.split.train <= 6 * split.people.length,
      `${trained.metrics.split.train} to fit`,
    );
    t.equal(trained.metrics.test.faces, 2 * split.people.length, 'test metrics on the held-back photos');
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    t.equal(manifest.thresholds.operatingPoint.method, 'target-rejection');
    t.equal(manifest.thresholds.operatingPoint.targetRejection, 0.85);
    t.ok(manifest.metrics.head.exportMaxAbsDiff <= 1e-5, `the exported head gives the cosines within ${manifest.metrics.head.exportMaxAbsDiff}`);
    for (const value of Object.values(manifest.thresholds.perActor) as number[])
      t.ok(value > manifest.thresholds.default, 'per-actor thresholds only raise the default');
    const report = await cliJson<Eval & { closedSetTop1: number; unknown: { n: number; rejected: number } }>([
      'eval',
      '--model',
      out,
      '--dataset',
      split.test,
      '--unknown',
      split.strangers,
    ]);
    t.ok(report.n >= split.people.length * 4, `${report.n} test photos`);
    t.ok(report.closedSetTop1 >= 0.95, `closed-set top-1 ${report.closedSetTop1} over ${split.people.length} people`);
    t.ok(report.top1 >= 0.92, `named correctly: ${report.top1}`);
    t.ok(report.unknown.n >= 5 * 15, `${report.unknown.n} photos of five strangers`);
    t.ok(report.unknown.rejected >= 0.9, `strangers (${split.strangerNames.join(', ')}) rejected: ${report.unknown.rejected}`);
  },
);
