// Adds a person to the running nearest-class-mean model on the device: a new bundle, installed like any other.
import { rm } from 'node:fs/promises';
import type { Logger } from '../logger.js';
import { RecognizerError } from '../errors.js';
import { incomingFolder, listHeld } from './disk.js';
import type { Outcome } from './model-store.js';
import { writeBundle, type ManifestBody } from '../recognize/bundle-writer.js';
import type { ActorModel } from '../recognize/actor-model.js';
import { HEAD_GRAPH_FILE } from '../recognize/bundle-layout.js';
import { CENTROIDS_FILE, parseCentroids, serializeCentroids, type Centroids } from '../recognize/centroids.js';
import { readBundle, type Manifest } from '../recognize/manifest.js';
import { cosine, HEAD_INPUT, HEAD_OUTPUT, ncmHeadGraph, norm } from '../recognize/ncm-head.js';
import { bundleEmbedderId, EMBEDDER_IDS, embedderSpec, embedderTuning, type EmbedderId } from '../vision/embedder.js';

/** The slice of the model store enrollment needs (src/models/model-store.ts). */
export interface EnrollStore {
  readonly dir: string;
  readonly managesVersions: boolean;
  current(): ActorModel | null;
  install(folder: string, source: string): Promise<Outcome>;
}

/** What was enrolled, and which version now runs (or why the new bundle was refused). */
export type EnrollOutcome =
  | { ok: true; actor: string; version: string; previous: string; faces: number; updated: boolean; nearest: Nearest | null }
  | Extract<Outcome, { ok: false }>;

/** Who was removed, and which version now runs (or why the new bundle was refused). */
export type RemoveOutcome = { ok: true; actor: string; version: string; previous: string } | Extract<Outcome, { ok: false }>;

/** One enrollment as the manifest records it (`training.enrolled`, oldest first). */
export interface EnrollmentRecord {
  actor: string;
  faces: number;
  /** True when the actor existed and the new faces were folded into their mean. */
  updated: boolean;
  base: string;
  origin: string;
  at: string;
}

const MAX_NAME = 64;
const MAX_FACES = 200;
const NAME = /^[\p{L}\p{M}\p{N}][\p{L}\p{M}\p{N} .'’_-]*$/u;
/** The manifest checks at most 64 references; each is a class mean that must name its own actor. */
const MAX_REFERENCES = 64;

/** A person's name as the model will carry it, or ENROLL_INVALID saying what is wrong. */
export function validateName(raw: unknown): string {
  const name = typeof raw === 'string' ? raw.normalize('NFC').trim().replace(/\s+/g, ' ') : '';
  if (name.length === 0 || name.length > MAX_NAME) throw new RecognizerError('ENROLL_INVALID', `a name has 1 to ${MAX_NAME} characters`);
  if (!NAME.test(name)) throw new RecognizerError('ENROLL_INVALID', "a name holds letters, digits, spaces and . ' _ - only, and starts with a letter or digit");
  if (name.toLowerCase() === 'unknown') throw new RecognizerError('ENROLL_INVALID', '"unknown" is what the model says of strangers; choose another name');
  return name;
}

export class Enroller {
  private readonly store: EnrollStore;
  private readonly log: Logger;
  /** One enrollment at a time: two built on the same base would lose one of the people. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(store: EnrollStore, log: Logger) {
    this.store = store;
    this.log = log;
  }

  /** Adds `name` (or folds more faces into that actor) and installs the result through the store. */
  enroll(rawName: unknown, embeddings: Float32Array[], origin: string): Promise<EnrollOutcome> {
    const run = this.queue.then(() => this.build(rawName, embeddings, origin));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Takes `name` out of the running model: a new version without them, installed like an enrollment (and rolled back alike). */
  remove(rawName: unknown, origin: string): Promise<RemoveOutcome> {
    const run = this.queue.then(() => this.without(rawName, origin));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async build(rawName: unknown, embeddings: Float32Array[], origin: string): Promise<EnrollOutcome> {
    const requested = validateName(rawName);
    if (embeddings.length === 0) throw new RecognizerError('ENROLL_INVALID', 'at least one face is needed');
    if (embeddings.length > MAX_FACES) throw new RecognizerError('ENROLL_INVALID', `at most ${MAX_FACES} faces at once`);
    const { manifest, centroids } = await this.runningBundle();
    if (embeddings.some((e) => e.length !== centroids.size)) throw new RecognizerError('ENROLL_INVALID', `the faces' embeddings do not have the model's ${centroids.size} values`);
    // The same person under another capitalisation is the same person.
    const existing = centroids.classes.findIndex((c) => c.actor.toLowerCase() === requested.toLowerCase());
    const actor = existing >= 0 ? centroids.classes[existing]!.actor : requested;
    const classes = foldIn(centroids, actor, embeddings);
    const means = classes.map((c) => Float32Array.from(c.mean));
    const index = classes.findIndex((c) => c.actor === actor);
    const nearest = nearestOther(means, index, classes.map((c) => c.actor), alikeCosine(manifest));
    const enrolled = [...previousEnrollments(manifest), { actor, faces: embeddings.length, updated: existing >= 0, base: manifest.version, origin, at: new Date().toISOString() }];
    const version = await this.nextVersion(manifest.version, 'e', enrolled.length + previousRemovals(manifest).length, actor);
    const outcome = await this.install(manifest, centroids.size, classes, version, { enrolled }, index, `enroll:${origin}`);
    if (!outcome.ok) return outcome;
    this.log.info({ actor, faces: embeddings.length, version, previous: manifest.version, origin, nearest }, 'person enrolled on the device');
    return { ok: true, actor, version, previous: manifest.version, faces: embeddings.length, updated: existing >= 0, nearest };
  }

  private async without(rawName: unknown, origin: string): Promise<RemoveOutcome> {
    const requested = typeof rawName === 'string' ? rawName.normalize('NFC').trim().replace(/\s+/g, ' ') : '';
    const { manifest, centroids } = await this.runningBundle();
    const at = centroids.classes.findIndex((c) => c.actor.toLowerCase() === requested.toLowerCase());
    if (at < 0) throw new RecognizerError('ENROLL_NOT_FOUND', `model ${manifest.version} has no actor ${JSON.stringify(requested)}`);
    if (centroids.classes.length === 1) throw new RecognizerError('ENROLL_INVALID', `${requested} is the model's only actor: a model needs at least one`);
    const actor = centroids.classes[at]!.actor;
    const classes = centroids.classes.filter((_, i) => i !== at);
    const removed = [...previousRemovals(manifest), { actor, base: manifest.version, origin, at: new Date().toISOString() }];
    const version = await this.nextVersion(manifest.version, 'r', previousEnrollments(manifest).length + removed.length, actor);
    const outcome = await this.install(manifest, centroids.size, classes, version, { removed }, undefined, `remove:${origin}`);
    if (!outcome.ok) return outcome;
    this.log.info({ actor, version, previous: manifest.version, origin }, 'person removed from the model on the device');
    return { ok: true, actor, version, previous: manifest.version };
  }

  /**
   * Writes the bundle of `classes` (the running one's manifest, with `training` extended) into the
   * incoming area and installs it. Each mean must come out as its own actor, `focus` first: catches
   * a head whose columns and labels disagree.
   */
  private async install(manifest: Manifest, size: number, classes: Centroids['classes'], version: string, training: Record<string, unknown>, focus: number | undefined, source: string): Promise<Outcome> {
    const means = classes.map((c) => Float32Array.from(c.mean));
    const actors = classes.map((c) => c.actor);
    const body: ManifestBody = {
      version,
      kind: 'embedding-classifier',
      createdAt: new Date().toISOString(),
      actors,
      input: manifest.input.type === 'embedding' ? { ...manifest.input, size } : { type: 'embedding', name: HEAD_INPUT, size, extractor: 'unknown' },
      head: { type: 'ncm-cosine', graph: HEAD_GRAPH_FILE, output: HEAD_OUTPUT, score: 'cosine' },
      // A new actor takes the pooled threshold; actors that had their own keep it.
      thresholds: { ...manifest.thresholds, perActor: Object.fromEntries(Object.entries(manifest.thresholds.perActor).filter(([a]) => actors.includes(a))) },
      training: { ...(manifest.training ?? {}), ...training },
      references: [...(focus === undefined ? [] : [focus]), ...means.keys()].filter((i, k, all) => all.indexOf(i) === k).slice(0, MAX_REFERENCES).map((i) => ({ embedding: Array.from(means[i]!), actor: actors[i]! })),
    };
    const folder = await incomingFolder(this.store.dir, version);
    try {
      await writeBundle(folder, body, { [HEAD_GRAPH_FILE]: ncmHeadGraph(means, size), [CENTROIDS_FILE]: serializeCentroids(size, classes) });
    } catch (err) {
      await rm(folder, { recursive: true, force: true });
      throw err;
    }
    return this.store.install(folder, source);
  }

  /** The running bundle's manifest and class means, read again from the store and checked. */
  private async runningBundle(): Promise<{ manifest: Manifest; centroids: Centroids }> {
    const model = this.store.current();
    if (!model) throw new RecognizerError('ENROLL_UNSUPPORTED', 'no actor model is running: train one first, then add people to it here');
    if (!this.store.managesVersions) {
      throw new RecognizerError('ENROLL_UNSUPPORTED', `model.dir (${this.store.dir}) is one bundle, not a store of versions: point model.dir at a folder holding the bundle as a subfolder to enroll and roll back on the device`);
    }
    const { manifest } = model;
    if (manifest.kind !== 'embedding-classifier' || manifest.head.type !== 'ncm-cosine') {
      throw new RecognizerError('ENROLL_UNSUPPORTED', `model ${manifest.version}'s head is ${manifest.head.type}: only a cosine nearest-class-mean model (train --head ncm) can take a new person on the device`);
    }
    if (!(CENTROIDS_FILE in manifest.files)) {
      throw new RecognizerError('ENROLL_UNSUPPORTED', `model ${manifest.version} carries no class means (${CENTROIDS_FILE}); retrain it with this version of train to enroll on the device`);
    }
    // A held version is read from the store (a model installed from the incoming area has moved); the
    // starter model, which runs from its own folder outside the store, from where it was loaded.
    const held = (await listHeld(this.store.dir)).find((b) => b.version === manifest.version);
    const bundle = await readBundle(held?.path ?? model.dir);
    return { manifest: bundle.manifest, centroids: parseCentroids(bundle.files.get(CENTROIDS_FILE)!, bundle.manifest) };
  }

  /**
   * `<base>.e<n>-<name>` (enrolled) or `<base>.r<n>-<name>` (removed), n counting the changes made on
   * the device, the suffix of the base replaced; bumped past versions already held.
   */
  private async nextVersion(base: string, kind: 'e' | 'r', n: number, actor: string): Promise<string> {
    const root = base.replace(/\.[er]\d+-[a-z0-9-]*$/, '').slice(0, 80);
    const slug =
      actor
        .normalize('NFKD')
        .replace(/[^A-Za-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .toLowerCase()
        .slice(0, 32)
        .replace(/-+$/, '') || 'person';
    const held = new Set((await listHeld(this.store.dir)).map((b) => b.version));
    let k = n;
    while (held.has(`${root}.${kind}${k}-${slug}`)) k++;
    return `${root}.${kind}${k}-${slug}`;
  }
}

/** The classes with `actor`'s faces folded in (count-weighted) or appended as a new class. */
function foldIn(centroids: Centroids, actor: string, embeddings: Float32Array[]): Centroids['classes'] {
  const size = centroids.size;
  const sum = new Float32Array(size);
  for (const e of embeddings) {
    const n = norm(e);
    for (let i = 0; i < size; i++) sum[i]! += e[i]! / n;
  }
  const unit = (v: Float32Array) => {
    const n = norm(v);
    return Array.from(v, (x) => x / n);
  };
  const at = centroids.classes.findIndex((c) => c.actor === actor);
  if (at < 0) return [...centroids.classes, { actor, count: embeddings.length, mean: unit(sum) }];
  return centroids.classes.map((c, i) => {
    if (i !== at) return c;
    for (let k = 0; k < size; k++) sum[k]! += c.mean[k]! * c.count;
    return { actor, count: c.count + embeddings.length, mean: unit(sum) };
  });
}

/** The other actor whose mean is closest; `alike`: so close that the two may be confused. */
export interface Nearest {
  actor: string;
  score: number;
  alike: boolean;
}

function nearestOther(means: Float32Array[], index: number, actors: string[], alike: number): Nearest | null {
  let best: Nearest | null = null;
  means.forEach((m, i) => {
    if (i === index) return;
    const score = cosine(means[index]!, m);
    if (!best || score > best.score) best = { actor: actors[i]!, score: Math.round(score * 1000) / 1000, alike: score >= alike };
  });
  return best;
}

/** Where two class means look alike for the bundle's embedder (cosines mean different things per network). */
function alikeCosine(manifest: Manifest): number {
  if (manifest.input.type !== 'embedding') return Infinity;
  const id = bundleEmbedderId(manifest.input);
  return (EMBEDDER_IDS as readonly string[]).includes(id) ? embedderTuning(embedderSpec(id as EmbedderId)).alike : Infinity;
}

function previousEnrollments(manifest: Manifest): EnrollmentRecord[] {
  const list = manifest.training?.['enrolled'];
  return Array.isArray(list) ? (list as EnrollmentRecord[]) : [];
}

/** People removed on the device (`training.removed`, oldest first). */
function previousRemovals(manifest: Manifest): { actor: string; base: string; origin: string; at: string }[] {
  const list = manifest.training?.['removed'];
  return Array.isArray(list) ? (list as ReturnType<typeof previousRemovals>) : [];
}
