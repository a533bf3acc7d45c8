// Finds the shared face datasets (never copied into the repo) and builds train/test splits of links.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededShuffle } from '../../src/train/dataset.js';

/** The project root (tests run from dist/test). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const DATASETS = path.resolve(ROOT, process.env.ACTOR_RECOGNIZER_DATASETS ?? '../shared/datasets');

/** Why a test that needs the photos cannot run here, or undefined when they are present. */
export function datasetsMissing(): string | undefined {
  return existsSync(path.join(DATASETS, 'faces')) ? undefined : `the face datasets are not at ${DATASETS} (set ACTOR_RECOGNIZER_DATASETS): skipped`;
}

export const faces = (...parts: string[]) => path.join(DATASETS, 'faces', ...parts);

/** The photos of each person under several dataset folders, pooled by the person's name. */
export async function pooledPeople(folders: string[]): Promise<Map<string, string[]>> {
  const people = new Map<string, string[]>();
  for (const folder of folders) {
    for (const person of (await readdir(folder, { withFileTypes: true })).filter((e) => e.isDirectory())) {
      const files = (await readdir(path.join(folder, person.name))).filter((f) => /\.(jpe?g|png|webp)$/i.test(f)).map((f) => path.join(folder, person.name, f));
      people.set(person.name, [...(people.get(person.name) ?? []), ...files.sort()]);
    }
  }
  return people;
}

/**
 * Writes a train and a test folder of symbolic links (one folder per person): `trainPer` photos per
 * person to train, up to `testCap` of the rest to test, people with fewer than `minPhotos` left out.
 */
export async function linkSplit(people: Map<string, string[]>, options: { trainPer: number; testCap: number; minPhotos: number; seed: number }): Promise<{ train: string; test: string; people: string[] }> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'ar-split-'));
  const chosen: string[] = [];
  for (const [person, files] of people) {
    if (files.length < options.minPhotos) continue;
    chosen.push(person);
    const shuffled = seededShuffle(files, options.seed);
    const parts = { train: shuffled.slice(0, options.trainPer), test: shuffled.slice(options.trainPer, options.trainPer + options.testCap) };
    for (const [split, list] of Object.entries(parts)) {
      const dir = path.join(base, split, person);
      await mkdir(dir, { recursive: true });
      for (const [i, file] of list.entries()) await symlink(file, path.join(dir, `${i}-${path.basename(file)}`));
    }
  }
  return { train: path.join(base, 'train'), test: path.join(base, 'test'), people: chosen };
}
