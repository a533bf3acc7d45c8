// The labelled film scenes, and the model enrolled from stills of their casts (trained once per process).
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cliJson } from './cli.js';
import { ROOT, faces } from './datasets.js';

export const fixture = (name: string) => path.join(ROOT, 'test', 'fixtures', 'footage', name);

/** What `eval --footage --json` prints, as far as the tests read it. */
export interface FootageJson {
  precision: number;
  recall: number;
  shots: number;
  perActor: Record<string, { recall: number; precision: number }>;
  faces: Record<string, { faces: number; detected: number; namedByTrack: number; strangersNamed: number }>;
  model: { embedder: string };
}

let trained: Promise<string> | undefined;
/** Both scenes' casts from their stills, the five celebrities as other actors: never a frame of the scenes. */
export function stillsModel(): Promise<string> {
  trained ??= (async () => {
    const out = path.join(await mkdtemp(path.join(os.tmpdir(), 'ar-footage-')), 'model');
    await cliJson(['train', '--dataset', faces('avengers-stills'), '--dataset', faces('hera-pheri-stills'), '--dataset', faces('five-celebrities', 'train'), '--out', out]);
    return out;
  })();
  return trained;
}
