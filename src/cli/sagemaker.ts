// `actor-recognizer sagemaker-train`: runs `train` inside a SageMaker training job, from its environment.
import { existsSync } from 'node:fs';
import { access, constants, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RecognizerError } from '../errors.js';
import { METRICS_FILE, REPORT_FILE } from '../recognize/bundle-layout.js';
import { trainModel, type TrainSummary } from '../train/train.js';
import { commandConfig, datasetFaces, print, trainingCohort } from './common.js';

/**
 * Where SageMaker puts things. The SM_* variables come from the sagemaker-training toolkit; a plain
 * bring-your-own image gets only the /opt/ml layout, so each variable falls back to its fixed path
 * (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html).
 */
const OPT_ML = '/opt/ml';
const DEFAULTS = {
  train: `${OPT_ML}/input/data/train`,
  unknown: `${OPT_ML}/input/data/unknown`,
  model: `${OPT_ML}/model`,
  outputData: `${OPT_ML}/output/data`,
  output: `${OPT_ML}/output`,
  hyperparameters: `${OPT_ML}/input/config/hyperparameters.json`,
};

/** The hyperparameters the job accepts, as `train` takes them. */
export interface Hyperparameters {
  head?: 'ncm' | 'mlp';
  maxPerActor?: number;
  seed?: number;
  rejectRate?: number;
}

/** Everything the entry point reads from the job's environment. */
export interface SageMakerJob {
  /** The "train" channel: one folder per actor. */
  train: string;
  /** The optional "unknown" channel: faces of people who are not enrolled, for calibration. */
  unknown?: string;
  /** The bundle is written here; SageMaker uploads it as model.tar.gz. */
  modelDir: string;
  /** metrics.json, report.html and the summary go here; SageMaker uploads them as output.tar.gz. */
  outputDataDir: string;
  hyperparameters: Hyperparameters;
}

function unquote(value: string): string {
  try {
    return String(JSON.parse(value)).trim();
  } catch {
    return value;
  }
}

const bad = (key: string, why: string) => new RecognizerError('USAGE', `hyperparameter ${key}: ${why}`);

function whole(key: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 1) throw bad(key, `takes a whole number above 0, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * Coerces and validates SM_HPS. SageMaker passes every value as a string, and the Python SDK's
 * framework estimators JSON-encode them once more ("\"mlp\""), so both spellings are accepted;
 * snake_case keys too, since that is what Python users write. Keys SageMaker adds itself
 * (sagemaker_*) are ignored; any other unknown key is refused so that a typo never trains silently
 * with the default.
 */
export function parseHyperparameters(text: string | undefined): Hyperparameters {
  if (text === undefined || text.trim() === '') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new RecognizerError('USAGE', 'SM_HPS is not JSON');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new RecognizerError('USAGE', 'SM_HPS is not a JSON object');
  const hps: Hyperparameters = {};
  for (const [rawKey, rawValue] of Object.entries(raw)) {
    if (rawKey.startsWith('sagemaker_')) continue;
    const key = rawKey.replace(/_/g, '-');
    if (typeof rawValue !== 'string' && typeof rawValue !== 'number') throw bad(key, `takes a string or a number, got ${JSON.stringify(rawValue)}`);
    let value = String(rawValue).trim();
    if (/^".*"$/.test(value)) value = unquote(value);
    switch (key) {
      case 'head':
        if (value !== 'ncm' && value !== 'mlp') throw bad(key, `takes ncm or mlp, got ${JSON.stringify(value)}`);
        hps.head = value;
        break;
      case 'max-per-actor':
        hps.maxPerActor = whole(key, value);
        break;
      case 'seed':
        hps.seed = whole(key, value);
        break;
      case 'reject-rate': {
        const n = Number(value);
        if (value === '' || !(n > 0 && n < 1)) throw bad(key, `takes a fraction between 0 and 1, got ${JSON.stringify(value)}`);
        hps.rejectRate = n;
        break;
      }
      default:
        throw bad(rawKey, 'unknown (accepted: head, max-per-actor, seed, reject-rate)');
    }
  }
  return hps;
}

/** Reads the job from the SM_* variables, or SageMaker's fixed paths where they are unset. */
export async function sageMakerJob(env: NodeJS.ProcessEnv = process.env): Promise<SageMakerJob> {
  const hpsText = env.SM_HPS ?? (existsSync(DEFAULTS.hyperparameters) ? await readFile(DEFAULTS.hyperparameters, 'utf8') : undefined);
  const hyperparameters = parseHyperparameters(hpsText);
  const train = env.SM_CHANNEL_TRAIN || DEFAULTS.train;
  if (!existsSync(train))
    throw new RecognizerError('DATASET_INVALID', `the train channel ${train} does not exist (set SM_CHANNEL_TRAIN or give the job a "train" channel)`);
  // The unknown channel is optional: an absent default path simply means no strangers were given.
  const unknown = env.SM_CHANNEL_UNKNOWN || (existsSync(DEFAULTS.unknown) ? DEFAULTS.unknown : undefined);
  if (unknown && !existsSync(unknown)) throw new RecognizerError('DATASET_INVALID', `the unknown channel ${unknown} does not exist`);
  return { train, unknown, modelDir: env.SM_MODEL_DIR || DEFAULTS.model, outputDataDir: env.SM_OUTPUT_DATA_DIR || DEFAULTS.outputData, hyperparameters };
}

/**
 * Writes the reason to the failure file, which SageMaker shows as the job's FailureReason. Only
 * where the output folder exists and is writable: outside a job there is nowhere to put it, and
 * failing to record a failure must not hide the failure itself.
 */
export async function writeFailure(err: unknown, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const dir = env.SM_OUTPUT_DIR || DEFAULTS.output;
  try {
    await access(dir, constants.W_OK);
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof RecognizerError ? `${err.code}: ` : '';
    const file = path.join(dir, 'failure');
    // SageMaker keeps the first 1024 characters of the reason.
    await writeFile(file, `${code}${message}`.slice(0, 1024) + '\n');
    return file;
  } catch {
    return undefined;
  }
}

/** What the job leaves in the output data folder besides the report. */
export interface TrainingSummaryFile {
  version: string;
  actors: string[];
  images: number;
  skipped: TrainSummary['skipped'];
  hyperparameters: Hyperparameters;
  channels: { train: string; unknown: string | null };
  seconds: number;
}

/**
 * The command: SageMaker starts the image with the single argument `train`, which is accepted and
 * ignored. Trains in-process with the same code as `actor-recognizer train` (no train/serve skew).
 */
export async function sagemakerTrainCommand(
  args: { configFile?: string; json: boolean; rest: string[]; cache: boolean },
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  try {
    if (args.rest.length > 1 || (args.rest[0] !== undefined && args.rest[0] !== 'train')) {
      throw new RecognizerError('USAGE', `sagemaker-train takes no arguments besides "train", got ${args.rest.join(' ')}`);
    }
    const config = commandConfig(args.configFile);
    const job = await sageMakerJob(env);
    const started = Date.now();
    const { source, embedder } = await datasetFaces(config, { cache: args.cache });
    const hp = job.hyperparameters;
    const summary = await trainModel(source, {
      datasets: [job.train],
      out: job.modelDir,
      maxPerActor: hp.maxPerActor,
      seed: hp.seed,
      embedder,
      cohort: await trainingCohort(embedder),
      head: hp.head,
      unknown: job.unknown,
      rejectRate: hp.rejectRate,
    });
    await mkdir(job.outputDataDir, { recursive: true });
    for (const name of [METRICS_FILE, REPORT_FILE]) await copyFile(path.join(job.modelDir, name), path.join(job.outputDataDir, name));
    const written: TrainingSummaryFile = {
      version: summary.version,
      actors: summary.actors,
      images: summary.images,
      skipped: summary.skipped,
      hyperparameters: hp,
      channels: { train: job.train, unknown: job.unknown ?? null },
      seconds: (Date.now() - started) / 1000,
    };
    await writeFile(path.join(job.outputDataDir, 'training-summary.json'), JSON.stringify(written, null, 2) + '\n');
    print(
      args.json,
      written,
      `model ${summary.version} written to ${job.modelDir}: ${summary.actors.length} actors from ${summary.images} photos; report in ${job.outputDataDir}`,
    );
  } catch (err) {
    await writeFailure(err, env);
    throw err;
  }
}
