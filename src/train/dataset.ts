// Reads a face dataset laid out as one folder per person (the IMDb scraper's layout).
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { RecognizerError } from '../errors.js';

const IMAGE = /\.(jpe?g|png|webp)$/i;

/** Photos of one person, by the person's name (the folder's name, as it is). */
export type Dataset = Map<string, string[]>;

/**
 * Scans one or more roots; a person found under several roots is one person (pooled). Image files
 * anywhere below a person's folder count; others are ignored. Sorted, so that runs repeat.
 */
export async function scanDataset(roots: readonly string[]): Promise<Dataset> {
  const dataset: Dataset = new Map();
  for (const root of roots) {
    let entries;
    try {
      entries = await readdir(root, { withFileTypes: true });
    } catch (err) {
      throw new RecognizerError('DATASET_INVALID', `cannot read the dataset folder ${root}`, { cause: err });
    }
    for (const entry of entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).sort((a, b) => a.name.localeCompare(b.name))) {
      const files = await imagesBelow(path.join(root, entry.name));
      if (files.length === 0) continue;
      dataset.set(entry.name, [...(dataset.get(entry.name) ?? []), ...files]);
    }
  }
  if (dataset.size === 0) throw new RecognizerError('DATASET_INVALID', `no person folders with images in ${roots.join(', ')}`);
  return dataset;
}

/** Every image file below `dir`, in any layout (for `--unknown`). */
export async function imagesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => (e.isFile() || e.isSymbolicLink()) && IMAGE.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** A seeded shuffle (mulberry32), so that a sample is the same from run to run. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
