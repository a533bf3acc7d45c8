// `train` says what it achieved on its test split and, with --verbose, which photos it left out and why.
import { copyFile, mkdir, mkdtemp, readdir, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cliRun } from './helpers/cli.js';
import { datasetsMissing, faces } from './helpers/datasets.js';

interface Trained {
  dropped: { actor: string; file: string; reason: string; copyOf?: string }[];
  metrics: { test: { faces: number; top1: number } };
}

t.test('train prints its test figures, and with --verbose the copies it dropped, per actor', { skip: datasetsMissing() }, async (t) => {
  const base = await mkdtemp(path.join(os.tmpdir(), 'ar-train-cli-'));
  const dataset = path.join(base, 'people');
  for (const actor of ['Ben Affleck', 'Mindy Kaling']) {
    await mkdir(path.join(dataset, actor), { recursive: true });
    for (const split of ['train', 'val']) {
      for (const file of await readdir(faces('five-celebrities', split, actor)))
        await symlink(faces('five-celebrities', split, actor, file), path.join(dataset, actor, `${split}-${file}`));
    }
  }
  // An exact copy under another name; five-celebrities also holds a near copy of one Ben Affleck photo across train and val.
  const original = (await readdir(faces('five-celebrities', 'train', 'Mindy Kaling'))).sort()[0]!;
  await copyFile(faces('five-celebrities', 'train', 'Mindy Kaling', original), path.join(dataset, 'Mindy Kaling', 'zz-copy.jpg'));

  const plain = await cliRun(['train', '--dataset', dataset, '--out', path.join(base, 'a')]);
  t.equal(plain.code, 0, plain.stderr);
  t.match(
    plain.stdout,
    /^on its test split \(photos held back from fitting and calibration\): \d+\.\d% of \d+ named correctly \(right actor whatever the threshold: \d+\.\d%\), \d+\.\d% of \d+ faces of actors held out in turn rejected as unknown$/m,
    'what it achieved on its test split',
  );
  t.match(plain.stdout, /^\d+ photos? left out \(--verbose lists them per actor\)$/m, 'without --verbose, a count and where to look');

  const verbose = await cliRun(['train', '--dataset', dataset, '--out', path.join(base, 'b'), '--verbose']);
  t.equal(verbose.code, 0, verbose.stderr);
  t.match(
    verbose.stdout,
    new RegExp(`^photos left out, per actor:$[^]*^  Mindy Kaling:$\\n^    .*zz-copy\\.jpg: a copy of .*train-${original.replace('.', '\\.')}$`, 'm'),
    'the copy, under its actor, with the photo it repeats',
  );
  t.match(verbose.stdout, /^  Ben Affleck:$\n^    .*: a near copy of .*$/m, 'the near copy across train and val');

  const json = await cliRun(['train', '--dataset', dataset, '--out', path.join(base, 'c'), '--verbose', '--json']);
  const trained = json.json as Trained;
  t.match(
    trained.dropped,
    [
      { actor: 'Ben Affleck', reason: 'near-duplicate', copyOf: String },
      { actor: 'Mindy Kaling', reason: 'duplicate', file: /zz-copy\.jpg$/ },
    ],
    '--json --verbose lists them too',
  );
  t.ok(trained.metrics.test.faces > 0, 'and the test metrics');
});
