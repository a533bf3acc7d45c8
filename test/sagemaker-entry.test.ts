// The SageMaker entry point, run as the container runs it, with SageMaker's variables at local folders.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { parseHyperparameters } from '../src/cli/sagemaker.js';
import { MAIN } from './helpers/cli.js';
import { faces } from './helpers/datasets.js';

const TRAIN = faces('five-celebrities', 'train');
const missing = existsSync(TRAIN) ? false : `the five-celebrities photos are not at ${TRAIN} (set ACTOR_RECOGNIZER_DATASETS): skipped`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `sagemaker-train train` as SageMaker does: the one argument, everything else in the environment. */
async function runEntry(env: NodeJS.ProcessEnv): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [MAIN, 'sagemaker-train', 'train', '--json'], {
      env: { ...process.env, ...env },
      timeout: 300_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function folders() {
  const base = await mkdtemp(path.join(os.tmpdir(), 'ar-sagemaker-'));
  return { model: path.join(base, 'model'), data: path.join(base, 'output', 'data'), output: await mkdtemp(path.join(base, 'output-')) };
}

t.test('a training job writes the bundle to SM_MODEL_DIR and the report to SM_OUTPUT_DATA_DIR', { skip: missing }, async (t) => {
  const dirs = await folders();
  const run = await runEntry({
    SM_CHANNEL_TRAIN: TRAIN,
    SM_MODEL_DIR: dirs.model,
    SM_OUTPUT_DATA_DIR: dirs.data,
    SM_OUTPUT_DIR: dirs.output,
    SM_HPS: '{"max-per-actor":"6","seed":"3"}',
  });
  t.equal(run.code, 0, `exits 0 (${run.stderr.trim().split('\n').pop() ?? ''})`);
  const manifest = JSON.parse(await readFile(path.join(dirs.model, 'manifest.json'), 'utf8')) as {
    actors: string[];
    training: { maxPerActor: number; seed: number };
    files: Record<string, unknown>;
  };
  t.equal(manifest.actors.length, 5, `5 actors: ${manifest.actors.join(', ')}`);
  t.same(
    { maxPerActor: manifest.training.maxPerActor, seed: manifest.training.seed },
    { maxPerActor: 6, seed: 3 },
    'the string hyperparameters reached train as numbers',
  );
  t.ok(manifest.files['head.onnx'], 'the head is in the bundle');
  const metrics = JSON.parse(await readFile(path.join(dirs.data, 'metrics.json'), 'utf8')) as { trainImages: number; perActor: Record<string, unknown> };
  t.ok(metrics.trainImages > 0 && metrics.trainImages <= 30, `${metrics.trainImages} photos trained on, at most 6 per actor`);
  t.same(Object.keys(metrics.perActor).sort(), [...manifest.actors].sort(), 'metrics for every actor');
  t.match(await readFile(path.join(dirs.data, 'report.html'), 'utf8'), /<html/i, 'the report is in the output data');
  const summary = JSON.parse(await readFile(path.join(dirs.data, 'training-summary.json'), 'utf8')) as { actors: string[]; hyperparameters: unknown };
  t.same(summary.hyperparameters, { maxPerActor: 6, seed: 3 }, 'the summary records the hyperparameters');
  t.same(JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}').actors, summary.actors, '--json prints the summary');
  t.notOk(existsSync(path.join(dirs.output, 'failure')), 'no failure file on success');
});

t.test('a bad hyperparameter fails the job with a one-line reason and the failure file', async (t) => {
  const dirs = await folders();
  // The dataset need not exist: the hyperparameters are checked before anything is read.
  const run = await runEntry({
    SM_CHANNEL_TRAIN: missing ? os.tmpdir() : TRAIN,
    SM_MODEL_DIR: dirs.model,
    SM_OUTPUT_DATA_DIR: dirs.data,
    SM_OUTPUT_DIR: dirs.output,
    SM_HPS: '{"max-per-actor":"six","seed":"3"}',
  });
  t.not(run.code, 0, `exits non-zero (${run.code})`);
  t.equal(run.stderr.trim().split('\n').length, 1, 'one line on stderr');
  t.match(run.stderr, /max-per-actor/, 'naming the bad key');
  const failure = await readFile(path.join(dirs.output, 'failure'), 'utf8');
  t.match(failure, /hyperparameter max-per-actor: takes a whole number above 0, got "six"/, 'the failure file says why');
  t.notOk(existsSync(path.join(dirs.model, 'manifest.json')), 'no bundle written');
});

t.test('a missing train channel fails with the failure file', async (t) => {
  const dirs = await folders();
  const run = await runEntry({
    SM_CHANNEL_TRAIN: path.join(dirs.output, 'nowhere'),
    SM_MODEL_DIR: dirs.model,
    SM_OUTPUT_DATA_DIR: dirs.data,
    SM_OUTPUT_DIR: dirs.output,
    SM_HPS: '{}',
  });
  t.not(run.code, 0);
  t.match(await readFile(path.join(dirs.output, 'failure'), 'utf8'), /DATASET_INVALID: the train channel .* does not exist/);
});

t.test('hyperparameters as SageMaker and its Python SDK spell them', async (t) => {
  t.same(parseHyperparameters('{"head":"\\"mlp\\"","max_per_actor":"10","seed":7,"reject-rate":"0.9","sagemaker_region":"\\"eu-west-1\\""}'), {
    head: 'mlp',
    maxPerActor: 10,
    seed: 7,
    rejectRate: 0.9,
  });
  t.same(parseHyperparameters(undefined), {}, 'none given: the defaults');
  t.throws(() => parseHyperparameters('{"heads":"ncm"}'), /hyperparameter heads: unknown/, 'a typo is refused');
  t.throws(() => parseHyperparameters('{"reject-rate":"1.5"}'), /reject-rate: takes a fraction/);
  t.throws(() => parseHyperparameters('{"head":"resnet"}'), /head: takes ncm or mlp/);
  t.throws(() => parseHyperparameters('{"seed":"2.5"}'), /seed: takes a whole number/);
  t.throws(() => parseHyperparameters('[1]'), /not a JSON object/);
});
