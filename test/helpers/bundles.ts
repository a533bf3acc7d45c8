// Small synthetic model bundles for store and swap tests: built in milliseconds, broken on purpose.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { classMeans, HEAD_INPUT, HEAD_OUTPUT, ncmHeadGraph } from '../../src/recognize/ncm-head.js';
import { writeBundle } from '../../src/recognize/bundle-writer.js';
import type { Manifest } from '../../src/recognize/manifest.js';
import { DEFAULT_EMBEDDER, embedderSpec, type EmbedderId } from '../../src/vision/embedder.js';

/** The embedding size of the daemon's default embedder: what a bundle of the default embedder takes. */
export const SIZE = embedderSpec(DEFAULT_EMBEDDER).size;

export function randomUnit(seed: number, size = SIZE): Float32Array {
  let s = seed;
  const v = new Float32Array(size).map(() => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

export type Breakage = 'tampered' | 'truncated' | 'extra-actor' | 'wrong-reference';

export interface BundleSpec {
  version: string;
  actors?: string[];
  /** Class centres, one per actor; random ones when absent. `centres[0]` may be a real face's embedding. */
  centres?: Float32Array[];
  references?: Manifest['references'];
  broken?: Breakage;
  /** The embedder the bundle says it was made for (default: the daemon's default). */
  embedder?: EmbedderId;
}

/** Writes a bundle into `dir` (created) and returns it. */
export async function makeBundle(dir: string, spec: BundleSpec): Promise<string> {
  let actors = spec.actors ?? ['Ada Lovelace', 'Alan Turing', 'Grace Hopper'];
  const embedder = embedderSpec(spec.embedder ?? DEFAULT_EMBEDDER);
  const centres = spec.centres ?? actors.map((_, i) => randomUnit(i + 1, embedder.size));
  const size = centres[0]!.length;
  let graph = ncmHeadGraph(
    classMeans(
      centres.map((c) => [c]),
      size,
    ),
    size,
  );
  if (spec.broken === 'truncated') graph = graph.subarray(0, Math.floor(graph.length / 2));
  if (spec.broken === 'extra-actor') actors = [...actors, 'Extra Person'];
  let references = spec.references ?? [{ embedding: Array.from(centres[0]!), actor: actors[0]! }];
  if (spec.broken === 'wrong-reference') references = [{ embedding: Array.from(centres[0]!), actor: actors[1]! }];
  await writeBundle(
    dir,
    {
      version: spec.version,
      kind: 'embedding-classifier',
      createdAt: new Date().toISOString(),
      actors,
      input: { type: 'embedding', name: HEAD_INPUT, size, extractor: embedder.id, embedder },
      head: { type: 'ncm-cosine', graph: 'head.onnx', output: HEAD_OUTPUT, score: 'cosine' },
      thresholds: { default: 0.5, perActor: {} },
      references,
    },
    { 'head.onnx': graph, 'labels.txt': actors.join('\n') + '\n' },
  );
  if (spec.broken === 'tampered') {
    const file = path.join(dir, 'head.onnx');
    const bytes = await readFile(file);
    bytes[bytes.length - 10]! ^= 0xff;
    await writeFile(file, bytes);
  }
  return dir;
}
