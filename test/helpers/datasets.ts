// Finds the shared face datasets (never copied into the repo) and builds train/test splits of links.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededShuffle } from '../../src/train/dataset.js';
// For its side effect: every test that touches photos, and every CLI it spawns, caches faces in a temporary folder.
import './test-cache.js';

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
/**
 * Links a seeded split of `people` into temporary folders: `trainPer` photos each to train, up to
 * `testCap` others to test; with `strangers`, that many people are left out of both and up to
 * `strangerCap` of their photos go to a strangers folder instead.
 */
export async function linkSplit(
  people: Map<string, string[]>,
  options: { trainPer: number; testCap: number; minPhotos: number; seed: number; strangers?: number; strangerCap?: number },
): Promise<{ train: string; test: string; strangers: string; people: string[]; strangerNames: string[] }> {
  const base = await mkdtemp(path.join(os.tmpdir(), 'ar-split-'));
  const eligible = [...people.keys()].filter((p) => people.get(p)!.length >= options.minPhotos).sort();
  const strangerNames = seededShuffle(eligible, options.seed * 31).slice(0, options.strangers ?? 0);
  const chosen: string[] = [];
  const link = async (split: string, person: string, list: string[]) => {
    const dir = path.join(base, split, person);
    await mkdir(dir, { recursive: true });
    for (const [i, file] of list.entries()) await symlink(file, path.join(dir, `${i}-${path.basename(file)}`));
  };
  for (const person of eligible) {
    const shuffled = seededShuffle(people.get(person)!, options.seed);
    if (strangerNames.includes(person)) {
      await link('strangers', person, shuffled.slice(0, options.strangerCap ?? shuffled.length));
      continue;
    }
    chosen.push(person);
    await link('train', person, shuffled.slice(0, options.trainPer));
    await link('test', person, shuffled.slice(options.trainPer, options.trainPer + options.testCap));
  }
  return { train: path.join(base, 'train'), test: path.join(base, 'test'), strangers: path.join(base, 'strangers'), people: chosen, strangerNames };
}
