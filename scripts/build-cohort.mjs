#!/usr/bin/env node
// Rebuilds models/cohort/<embedder>.json from the development photos (../shared/datasets, or
// $ACTOR_RECOGNIZER_DATASETS): the film actors of faces/movie-matcher, leaving out everyone who also
// appears in the folders the evaluations draw their strangers from, so that no evaluation is
// calibrated on its own strangers. Deterministic: the same photos give the same file.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const datasets = path.resolve(root, process.env.ACTOR_RECOGNIZER_DATASETS ?? '../shared/datasets');
const faces = (...p) => path.join(datasets, 'faces', ...p);
const exclude = ['bbt', 'five-celebrities/train', 'five-celebrities/val', 'glint-aligned', 'lfw', 'pins', 'avengers-stills', 'hera-pheri-stills'].flatMap(
  (f) => ['--exclude', faces(...f.split('/'))],
);
const extra = process.argv.slice(2);
const result = spawnSync(process.execPath, [path.join(root, 'dist/src/main.js'), 'cohort', '--dataset', faces('movie-matcher'), ...exclude, ...extra], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
