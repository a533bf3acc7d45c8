// The labelled film scenes, and the model enrolled from stills of their casts (trained once per run).
import path from 'node:path';
import { cliJson } from './cli.js';
import { ROOT, faces } from './datasets.js';
import { builtOnce } from './test-cache.js';

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

/**
 * Both scenes' casts from their stills, the five celebrities as other actors: never a frame of the scenes.
 * Trained once for the whole run (test:all's slow half included) and shared: read it, never write into it.
 */
export async function stillsModel(): Promise<string> {
  const dir = await builtOnce('footage-stills', async (out) => {
    await cliJson([
      'train',
      '--dataset',
      faces('avengers-stills'),
      '--dataset',
      faces('hera-pheri-stills'),
      '--dataset',
      faces('five-celebrities', 'train'),
      '--out',
      path.join(out, 'model'),
    ]);
  });
  return path.join(dir, 'model');
}
