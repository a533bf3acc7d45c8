// The starter model: well-known actors, shipped in the package, run while the model store holds nothing.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/schema.js';
import { manifestPath } from '../recognize/bundle-layout.js';
import { embedderSpec } from '../vision/embedder.js';
import { PIPELINE_REVISION } from '../vision/pipeline.js';

/** models/starter at the package root (this module is dist/src/models/starter.js); built by `npm run build-starter`. */
export const STARTER_DIR = fileURLToPath(new URL('../../../models/starter/', import.meta.url));

/** The source the store reports while the starter runs: GET /v1/model, P/model and the page say "starter". */
export const STARTER_SOURCE = 'starter';

/**
 * What identifies the embedding a head was fitted on: the embedder (`vision.embedder`) and the face pipeline's revision.
 * The starter records it (`training.starter.embedding`) when it is built; a daemon that embeds
 * otherwise does not run it, and test/starter.test.ts fails until `npm run build-starter` rebuilds
 * it.
 */
export function embeddingKey(vision: Config['vision']): string {
  return `${embedderSpec(vision.embedder).id}+pipeline-r${PIPELINE_REVISION}`;
}

/** The embedding key a bundle's manifest records, if it is a starter model. */
export function recordedEmbedding(manifest: { training?: Record<string, unknown> }): string | undefined {
  const starter = manifest.training?.['starter'] as { embedding?: unknown } | undefined;
  return typeof starter?.embedding === 'string' ? starter.embedding : undefined;
}

/**
 * The starter's folder when this configuration may run it, else why not: `model.starter` off, the
 * bundle missing (a checkout where it was not built), or built for another embedding than ours.
 */
export async function usableStarter(config: Pick<Config, 'model' | 'vision'>, dir = STARTER_DIR): Promise<{ dir: string } | { reason: string }> {
  if (!config.model.starter) return { reason: 'model.starter is off' };
  let manifest: { training?: Record<string, unknown> };
  try {
    manifest = JSON.parse(await readFile(manifestPath(dir), 'utf8')) as typeof manifest;
  } catch {
    return { reason: `no starter model in ${dir} (npm run build-starter builds it)` };
  }
  const built = recordedEmbedding(manifest);
  const ours = embeddingKey(config.vision);
  if (built !== ours) return { reason: `the starter model was built for the embedding ${built ?? 'unknown'}, and this daemon embeds with ${ours} (npm run build-starter rebuilds it)` };
  return { dir };
}
