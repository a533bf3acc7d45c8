// A fixed cohort of strangers per embedder: faces every model is calibrated against, however few its actors.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { classMeans, cosine } from '../recognize/ncm-head.js';
import { projectRoot } from '../util/project-root.js';
import type { EmbedderSpec } from '../vision/embedder.js';
import { PIPELINE_REVISION } from '../vision/pipeline.js';

/**
 * Why: a model of six actors calibrated only on those six held out in turn put its threshold at
 * 0.929, where strangers of the crowd clip scored 0.92–0.95 and were named; a model of 98 actors
 * calibrated the same way put it at 0.944, where none was. Calibrating every model also against
 * some eighty people it does not know makes the threshold as sure for a small model as for a large
 * one. The cohort is embeddings only (no photos), rebuilt by `npm run build-cohort` whenever the
 * embedder or the pipeline changes (a test fails when it is stale).
 */
export const COHORT_FORMAT = 'actor-recognizer/cohort@1';

export interface CohortFile {
  format: typeof COHORT_FORMAT;
  embedder: string;
  pipelineRevision: number;
  size: number;
  /** Where the faces came from (dataset folders), for the record. */
  source: string;
  identities: { name: string; faces: string[] }[];
}

export interface CohortFace {
  identity: string;
  embedding: Float32Array;
}

/** The folder the cohorts ship in: `models/cohort` at the package root. */
export function cohortDir(): string {
  return path.join(projectRoot(), 'models', 'cohort');
}

export function cohortFile(embedder: string, dir = cohortDir()): string {
  return path.join(dir, `${embedder}.json`);
}

/**
 * The cohort made with `spec` and this pipeline revision, or why there is none (missing, or made
 * by another embedder or revision: then its scores would mean nothing).
 */
export async function readCohort(spec: EmbedderSpec, dir = cohortDir()): Promise<{ faces: CohortFace[] } | { missing: string }> {
  const file = cohortFile(spec.id, dir);
  let parsed: CohortFile;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as CohortFile;
  } catch {
    return { missing: `no cohort of strangers for ${spec.id} at ${file}` };
  }
  if (parsed.format !== COHORT_FORMAT || parsed.embedder !== spec.id || parsed.pipelineRevision !== PIPELINE_REVISION || parsed.size !== spec.size) {
    return {
      missing: `the cohort at ${file} was made for ${parsed.embedder} r${parsed.pipelineRevision}, not ${spec.id} r${PIPELINE_REVISION}: rebuild it with npm run build-cohort`,
    };
  }
  return { faces: parsed.identities.flatMap((id) => id.faces.map((f) => ({ identity: id.name, embedding: decode(f) }))) };
}

/**
 * The cohort's faces that are strangers to a model of `actors`: people enrolled under the same name,
 * or whose mean is as close to an enrolled actor's as one person's photos are (`sameIdentity`, the
 * embedder's), are left out.
 */
export function strangersOf(
  cohort: readonly CohortFace[],
  actors: readonly string[],
  embeddings: readonly (readonly Float32Array[])[],
  sameIdentity: number,
): CohortFace[] {
  if (cohort.length === 0) return [];
  const size = cohort[0]!.embedding.length;
  const enrolledMeans = classMeans(
    embeddings.map((list) => [...list]),
    size,
  );
  const byIdentity = new Map<string, CohortFace[]>();
  for (const face of cohort) byIdentity.set(face.identity, [...(byIdentity.get(face.identity) ?? []), face]);
  const names = new Set(actors.map((a) => a.toLowerCase()));
  const kept: CohortFace[] = [];
  for (const [name, faces] of byIdentity) {
    if (names.has(name.toLowerCase())) continue;
    const [mean] = classMeans([faces.map((f) => f.embedding)], size);
    if (enrolledMeans.some((m) => cosine(m, mean!) >= sameIdentity)) continue;
    kept.push(...faces.map((f) => ({ identity: `cohort:${name}`, embedding: f.embedding })));
  }
  return kept;
}

/** Writes a cohort file (temporary name, then renamed). */
export async function writeCohort(file: string, spec: EmbedderSpec, source: string, identities: Map<string, Float32Array[]>): Promise<void> {
  const body: CohortFile = {
    format: COHORT_FORMAT,
    embedder: spec.id,
    pipelineRevision: PIPELINE_REVISION,
    size: spec.size,
    source,
    identities: [...identities].sort(([a], [b]) => a.localeCompare(b)).map(([name, faces]) => ({ name, faces: faces.map(encode) })),
  };
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(body, null, 0) + '\n');
  await rename(tmp, file);
}

function encode(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

function decode(s: string): Float32Array {
  const bytes = Buffer.from(s, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}
