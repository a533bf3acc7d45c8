// `npm run build-starter`: the starter model of well-known actors (models/starter), from the development photos.
import { mkdir, mkdtemp, readdir, rename, rm, stat, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasetFaces } from '../src/cli/common.js';
import { loadConfig } from '../src/config/load.js';
import type { Config } from '../src/config/schema.js';
import { embeddingKey, STARTER_DIR } from '../src/models/starter.js';
import { imagesBelow } from '../src/train/dataset.js';
import { trainModel, type TrainSummary } from '../src/train/train.js';

/**
 * Who is in the starter model: every actor of `faces/movie-matcher` (95 well-known film actors, the
 * kind of list the original project trained on), and the other people of `faces/` known above all
 * for acting in film or on TV. Left out: singers, models and TV presenters (Adriana Lima, Elton John,
 * Madonna, Miley Cyrus, Rihanna, Shakira, Simon Cowell, Victoria Beckham), LFW's politicians (they
 * are the strangers that calibrate the thresholds), and the Hera Pheri actors (3 stills each, below
 * the 4 photos an actor needs). Held back entirely, so that tests can name the starter's actors on
 * photos it never saw: `faces/avengers-stills` and `faces/five-celebrities/val`.
 */
export const STARTER_SOURCES: { folder: string; people: 'all' | string[] }[] = [
  { folder: 'faces/movie-matcher', people: 'all' },
  {
    folder: 'faces/glint-aligned',
    people: [
      'Daniel Radcliffe',
      'Drew Barrymore',
      'Gwyneth Paltrow',
      'Halle Berry',
      'Hugh Jackman',
      'Hugh Laurie',
      'James Spader',
      'Jennifer Lopez',
      'Jessica Alba',
      'Kate Winslet',
      'Keanu Reeves',
      'Keira Knightley',
      'Lindsay Lohan',
      'Mark Ruffalo',
      'Robert Downey Jr',
      'Tina Fey',
      'Tom Hanks',
      'Will Smith',
    ],
  },
  {
    folder: 'faces/pins',
    people: [
      'Alex Lawther',
      'Alexandra Daddario',
      'Alvaro Morte',
      'Alycia Dabnem Carey',
      'Amanda Crew',
      'Amber Heard',
      'Andy Samberg',
      'Anne Hathaway',
      'Anthony Mackie',
      'Morgan Freeman',
      'Robert Downey Jr',
    ],
  },
  { folder: 'faces/bbt', people: 'all' },
  { folder: 'faces/five-celebrities/train', people: ['Ben Affleck', 'Jerry Seinfeld', 'Mindy Kaling'] },
  { folder: 'faces/lfw', people: ['Arnold Schwarzenegger'] },
];

/** People who are not in the model, as the calibration's strangers: LFW's politicians. */
export const STARTER_STRANGERS = { folder: 'faces/lfw', except: ['Arnold Schwarzenegger'] };

/**
 * At most 20 photos an actor (drawn with the seed) keep the build short (about 1300 photos) and the
 * classes comparable; an actor needs 4 usable photos (movie-matcher has 5, a copy or a stranger's
 * face may go).
 */
const MAX_PER_ACTOR = 20;
const MIN_PER_ACTOR = 4;
const SEED = 1;

/** The starter has no build time: the same photos give the same bytes. */
const CREATED_AT = '1970-01-01T00:00:00.000Z';

/**
 * Builds the starter bundle into `out` from `datasets` (the shared datasets folder). Deterministic:
 * the photos are linked into a temporary folder in a fixed order, the version is `starter-<hash of
 * the photos>`, and nothing records a time or a path of this machine.
 */
export async function buildStarter(options: {
  datasets: string;
  out: string;
  config: Config;
  sources?: typeof STARTER_SOURCES;
  cache?: boolean;
}): Promise<TrainSummary> {
  const sources = options.sources ?? STARTER_SOURCES;
  const work = await mkdtemp(path.join(os.tmpdir(), 'ar-starter-'));
  try {
    const people = path.join(work, 'people');
    for (const [i, source] of sources.entries()) {
      const root = path.join(options.datasets, source.folder);
      const names = source.people === 'all' ? (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name) : source.people;
      for (const name of names) await linkPhotos(path.join(root, name), path.join(people, name), `${i}-`);
    }
    const strangers = path.join(work, 'strangers');
    const lfw = path.join(options.datasets, STARTER_STRANGERS.folder);
    for (const entry of (await readdir(lfw, { withFileTypes: true })).filter((e) => e.isDirectory() && !STARTER_STRANGERS.except.includes(e.name))) {
      await linkPhotos(path.join(lfw, entry.name), path.join(strangers, entry.name), '');
    }
    const { source, embedder } = await datasetFaces(options.config, { cache: options.cache ?? true });
    const recorded = sources.map((s) => ({ folder: s.folder, people: s.people }));
    return await trainModel(source, {
      datasets: [people],
      out: options.out,
      maxPerActor: MAX_PER_ACTOR,
      minPerActor: MIN_PER_ACTOR,
      seed: SEED,
      embedder,
      unknown: strangers,
      compact: true,
      reproducible: {
        stamp: 'starter',
        createdAt: CREATED_AT,
        datasets: sources.map((s) => s.folder),
        extra: {
          starter: {
            embedding: embeddingKey(options.config.vision),
            sources: recorded,
            strangers: STARTER_STRANGERS,
            maxPerActor: MAX_PER_ACTOR,
            minPerActor: MIN_PER_ACTOR,
          },
        },
      },
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Links every photo of `from` into `to`, names prefixed so that two sources of one person never clash. */
async function linkPhotos(from: string, to: string, prefix: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const file of await imagesBelow(from)) await symlink(file, path.join(to, prefix + path.relative(from, file).replaceAll(path.sep, '_')));
}

async function main(): Promise<void> {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const datasets = path.resolve(root, process.env.ACTOR_RECOGNIZER_DATASETS ?? '../shared/datasets');
  if (!(await stat(path.join(datasets, 'faces')).catch(() => undefined))) {
    throw new Error(`the face datasets are not at ${datasets} (set ACTOR_RECOGNIZER_DATASETS)`);
  }
  // The defaults, whatever the environment says: the starter is for a daemon on its default embedding.
  const config = loadConfig({ env: {} });
  const staging = `${STARTER_DIR.replace(/\/$/, '')}.building-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  const started = Date.now();
  const summary = await buildStarter({ datasets, out: staging, config });
  await rm(STARTER_DIR, { recursive: true, force: true });
  await rename(staging, STARTER_DIR);
  let bytes = 0;
  for (const name of await readdir(STARTER_DIR)) bytes += (await stat(path.join(STARTER_DIR, name))).size;
  const test = summary.test;
  process.stdout.write(
    `starter model ${summary.version}: ${summary.actors.length} actors from ${summary.images} photos, ${(bytes / 1024).toFixed(0)} KiB in ${STARTER_DIR}, built in ${Math.round((Date.now() - started) / 1000)} s\n` +
      (test
        ? `test split: ${(test.top1 * 100).toFixed(1)}% of ${test.faces} named correctly, ${(test.impostorsRejected * 100).toFixed(1)}% of held-out actors' faces rejected\n`
        : '') +
      (summary.skipped.tooFewPhotos.length ? `left out, too few usable photos: ${summary.skipped.tooFewPhotos.join(', ')}\n` : ''),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().catch((err: unknown) => {
    process.stderr.write(`build-starter: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
