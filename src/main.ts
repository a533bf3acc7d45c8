#!/usr/bin/env node
// Entry point: parses the command line, loads the config, runs a command or the daemon.
import { parseArgs } from 'node:util';
import { benchCommand } from './cli/bench.js';
import { evalCommand, recognizeCommand, trainCommand } from './cli/commands.js';
import { footageCommand } from './cli/footage.js';
import { cohortCommand } from './cli/cohort.js';
import { commandConfig } from './cli/common.js';
import { cropsCommand } from './cli/crops.js';
import { publishCommand } from './cli/publish.js';
import { sagemakerTrainCommand } from './cli/sagemaker.js';
import { scanCommand } from './cli/scan.js';
import { describeConfig } from './config/env.js';
import { redactConfig } from './config/schema.js';
import { Daemon } from './daemon.js';
import { GreengrassComponent, openGreengrass } from './publish/greengrass-component.js';
import { isRecognizerError, RecognizerError } from './errors.js';
import { createLogger } from './logger.js';
import { SdNotify } from './util/sd-notify.js';
import { packageVersion } from './version.js';

const HELP = `actor-recognizer ${packageVersion()}: recognizes actors in photos and live video.

Usage: actor-recognizer [command] [options]

Commands:
  start                          run the daemon (the default command)
  train --dataset DIR --out DIR  build a model bundle from a folder of photos per actor
        [--max-per-actor N] [--seed N] [--no-cache] [--head ncm|mlp]
        [--unknown DIR] [--reject-rate R]  calibrate: reject R of each stranger's faces (default 0.85)
        [--equal-error]          calibrate at the equal-error point instead
        [--validation F] [--test F]  fractions of each actor's photos held back (default 0.2 each)
        [--verbose]              list the photos left out (copies, no face, …) per actor
        (--dataset may repeat: the same person under two folders is one person)
  crops --dataset DIR --out DIR  each actor's aligned face chips as PNG (out/<actor>/), chosen as
        [--max-per-actor N] [--seed N] [--no-cache]  train chooses faces: data for training/resnet50
  sagemaker-train [train]        train inside a SageMaker job: SM_CHANNEL_TRAIN, SM_CHANNEL_UNKNOWN,
        SM_MODEL_DIR, SM_OUTPUT_DATA_DIR, SM_HPS (head, max-per-actor, seed, reject-rate)
  eval [--model DIR] --dataset DIR  score a model: top-1 over enrolled actors' photos
        [--unknown DIR]          and the fraction of unknown people's faces rejected
        [--face-sizes 24,32,48,64]  and again with each face shrunk to those heights in a 640×360 frame
  recognize [--model DIR] FILE…  name the faces in images; exit 1 when a file cannot be read
  eval [--model DIR] --footage LABELS.json  who is on screen in a labelled video, through scan's path:
        [--video FILE] [--fps N]  precision and recall per shot and actor, faces by size
  cohort --dataset DIR [--exclude DIR] [--out FILE]  embed the strangers every model is calibrated
        against (models/cohort/<embedder>.json; npm run build-cohort rebuilds it)
        [--face-crops]           the images are tight face crops: assume a face if none is found
  scan [--model DIR] VIDEO       who is on screen when in a video, as fast as the machine allows
        [--fps N] [--vtt]        frames analysed per second of video (default 5); --vtt: WebVTT
        --model DIR (eval, recognize, scan): a bundle, or a model store (its active version);
        by default model.dir, the daemon's own model (the starter model while it holds none)
  bench [--iterations N] [--photos N]  time every stage on both backends (needs the face datasets)
  publish --model DIR --s3 s3://BUCKET/PREFIX  upload a bundle so that devices pick it up
        [--endpoint URL] [--region R]  (an S3-compatible server: path-style addressing)

Options:
  --config FILE        YAML or JSON configuration (also ACTOR_RECOGNIZER_CONFIG)
  --validate-config    check the configuration, print the effective one, and exit
  --json               print one JSON object as the last line of stdout
  --help               this text;  --help-config: every setting and its environment variable
  --version            the version

Any setting can be overridden by an environment variable ACTOR_RECOGNIZER_<PATH>,
e.g. ACTOR_RECOGNIZER_API_PORT=9000.`;

const { values, positionals } = (() => {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        'validate-config': { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        'help-config': { type: 'boolean' },
        version: { type: 'boolean' },
        dataset: { type: 'string', multiple: true },
        out: { type: 'string' },
        model: { type: 'string' },
        unknown: { type: 'string' },
        'max-per-actor': { type: 'string' },
        seed: { type: 'string' },
        'no-cache': { type: 'boolean' },
        'face-crops': { type: 'boolean' },
        head: { type: 'string' },
        'reject-rate': { type: 'string' },
        'equal-error': { type: 'boolean' },
        validation: { type: 'string' },
        test: { type: 'string' },
        iterations: { type: 'string' },
        photos: { type: 'string' },
        s3: { type: 'string' },
        endpoint: { type: 'string' },
        region: { type: 'string' },
        fps: { type: 'string' },
        vtt: { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
        footage: { type: 'string' },
        exclude: { type: 'string', multiple: true },
        'face-sizes': { type: 'string' },
        video: { type: 'string' },
      },
    });
  } catch (err) {
    fail(new RecognizerError('USAGE', `${(err as Error).message} (see --help)`));
  }
})();

function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`actor-recognizer: ${isRecognizerError(err) ? `${err.code}: ` : ''}${message.split('\n')[0]}\n`);
  process.exit(isRecognizerError(err, 'USAGE') ? 2 : 1);
}

function required(name: string, value: string | undefined): string {
  if (!value) throw new RecognizerError('USAGE', `--${name} is required (see --help)`);
  return value;
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new RecognizerError('USAGE', `--${name} takes a whole number above 0`);
  return n;
}

/** `--face-sizes 24,32,48,64`: face heights in pixels, 8 to 512. */
function faceSizes(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const sizes = value.split(',').map(Number);
  if (sizes.length === 0 || sizes.some((s) => !Number.isInteger(s) || s < 8 || s > 512)) throw new RecognizerError('USAGE', '--face-sizes takes face heights in pixels, 8 to 512, separated by commas');
  return sizes;
}

function positiveNumber(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 60) throw new RecognizerError('USAGE', `--${name} takes a number above 0, at most 60`);
  return n;
}

function fraction(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new RecognizerError('USAGE', `--${name} takes a fraction between 0 and 1`);
  return n;
}

function splitFractions(validation: string | undefined, test: string | undefined): { validation: number; test: number } | undefined {
  if (validation === undefined && test === undefined) return undefined;
  const share = (name: string, value: string | undefined, fallback: number) => {
    const n = value === undefined ? fallback : Number(value);
    if (!(n >= 0 && n < 0.5)) throw new RecognizerError('USAGE', `--${name} takes a fraction from 0 to 0.5`);
    return n;
  };
  return { validation: share('validation', validation, 0.2), test: share('test', test, 0.2) };
}

function headKind(value: string | undefined): 'ncm' | 'mlp' | undefined {
  if (value === undefined || value === 'ncm' || value === 'mlp') return value;
  throw new RecognizerError('USAGE', '--head takes ncm or mlp');
}

async function runDaemon(configFile: string | undefined): Promise<void> {
  // As a Greengrass component, its configuration (read over IPC) is a source too; outside, undefined.
  const component = await openGreengrass({ file: configFile, env: process.env });
  const config = component?.start.config ?? commandConfig(configFile);
  const log = createLogger({ level: config.log.level });
  log.info({ version: packageVersion(), config: redactConfig(config), greengrass: Boolean(component) }, 'starting');
  const greengrass = component && new GreengrassComponent(component.ipc, component.start, log.child({ component: 'greengrass' }));
  const daemon = new Daemon(config, log, { greengrass });
  const systemd = new SdNotify({ log: log.child({ component: 'systemd' }) });
  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'stopping');
    systemd.stopping(`stopping on ${signal}`);
    // Shorter than systemd's and Greengrass's stop timeouts, so we exit on our own terms.
    setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 8000).unref();
    daemon.stop().then(
      () => {
        log.info('stopped');
        log.flush();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    systemd.status('starting');
    await daemon.start();
  } catch (err) {
    systemd.status(`could not start: ${err instanceof Error ? err.message : String(err)}`);
    log.fatal({ err }, 'could not start');
    await greengrass?.reportErrored();
    await daemon.stop().catch(() => undefined);
    throw err;
  }
  const address = daemon.address();
  // Ready only now: the API listens and the cameras are started, so `systemctl start` returns on a
  // working daemon. A SIGTERM during start-up has already said STOPPING=1; READY=1 would undo it.
  if (!shuttingDown) systemd.ready(`serving on ${address?.host}:${address?.port}`);
}

async function main(): Promise<void> {
  if (values.help) return void process.stdout.write(`${HELP}\n`);
  if (values['help-config']) return void process.stdout.write(`${describeConfig()}\n`);
  if (values.version) return void process.stdout.write(`${packageVersion()}\n`);
  const [command = 'start', ...rest] = positionals;
  if (values['validate-config']) {
    const config = commandConfig(values.config);
    process.stdout.write(`configuration is valid\n${JSON.stringify(redactConfig(config), null, 2)}\n`);
    return;
  }
  const json = Boolean(values.json);
  const cache = !values['no-cache'];
  switch (command) {
    case 'start':
      return runDaemon(values.config);
    case 'train':
      return trainCommand(
        { config: commandConfig(values.config), json },
        { datasets: values.dataset ?? [required('dataset', undefined)], out: required('out', values.out), maxPerActor: integer('max-per-actor', values['max-per-actor']), seed: integer('seed', values.seed), cache, head: headKind(values.head), unknown: values.unknown, rejectRate: fraction('reject-rate', values['reject-rate']), equalError: Boolean(values['equal-error']), split: splitFractions(values.validation, values.test), verbose: Boolean(values.verbose) },
      );
    case 'crops':
      return cropsCommand(
        { config: commandConfig(values.config), json },
        { datasets: values.dataset ?? [required('dataset', undefined)], out: required('out', values.out), maxPerActor: integer('max-per-actor', values['max-per-actor']), seed: integer('seed', values.seed), cache },
      );
    case 'sagemaker-train':
      return sagemakerTrainCommand({ configFile: values.config, json, rest, cache });
    case 'eval':
      if (values.footage) {
        return footageCommand({ config: commandConfig(values.config), json }, { model: values.model, labels: values.footage, video: values.video, fps: positiveNumber('fps', values.fps) });
      }
      return evalCommand(
        { config: commandConfig(values.config), json },
        { model: values.model, datasets: values.dataset ?? [required('dataset', undefined)], unknown: values.unknown, cache, faceSizes: faceSizes(values['face-sizes']) },
      );
    case 'cohort':
      return cohortCommand(
        { config: commandConfig(values.config), json },
        { datasets: values.dataset ?? [required('dataset', undefined)], exclude: values.exclude ?? [], out: values.out, maxPerPerson: integer('max-per-actor', values['max-per-actor']) ?? 5, cache },
      );
    case 'recognize':
      return recognizeCommand({ config: commandConfig(values.config), json }, { model: values.model, files: rest, faceCrops: Boolean(values['face-crops']) });
    case 'bench':
      return benchCommand({ config: commandConfig(values.config), json }, { iterations: integer('iterations', values.iterations), photos: integer('photos', values.photos) });
    case 'scan':
      return scanCommand({ config: commandConfig(values.config), json }, { model: values.model, video: required('VIDEO', rest[0]), fps: positiveNumber('fps', values.fps), vtt: Boolean(values.vtt) });
    case 'publish':
      return publishCommand({ config: commandConfig(values.config), json }, { model: required('model', values.model), s3: required('s3', values.s3), endpoint: values.endpoint, region: values.region });
    default:
      throw new RecognizerError('USAGE', `unknown command ${command} (see --help)`);
  }
}

main().catch(fail);
