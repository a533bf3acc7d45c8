// Holds the running actor model; loading a new one never replaces a working one with a broken one.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.js';
import { isRecognizerError } from '../errors.js';
import { ActorModel } from './actor-model.js';
import type { ModelSource } from './recognizer.js';

export class ModelHolder implements ModelSource {
  private model: ActorModel | null = null;
  private source: string | null = null;
  private readonly log: Logger;
  private readonly threads: number;

  constructor(log: Logger, options: { threads: number }) {
    this.log = log;
    this.threads = options.threads;
  }

  current(): ActorModel | null {
    return this.model;
  }

  /** Where the running model was loaded from. */
  currentSource(): string | null {
    return this.source;
  }

  /**
   * Loads the bundle at `dir` (a bundle, or a folder of bundles of which the newest is taken). On any
   * failure the running model keeps serving and the error is logged and returned; never thrown.
   */
  async loadFrom(dir: string): Promise<{ ok: true; version: string } | { ok: false; error: Error }> {
    try {
      const bundle = await findBundle(dir);
      const next = await ActorModel.load(bundle, { threads: this.threads });
      const previous = this.model;
      this.model = next;
      this.source = bundle;
      this.log.info({ version: next.version, actors: next.actors.length, dir: bundle }, 'actor model loaded');
      await previous?.release();
      return { ok: true, version: next.version };
    } catch (err) {
      const error = err as Error;
      const code = isRecognizerError(err) ? err.code : 'MODEL_INVALID';
      if (isRecognizerError(err, 'MODEL_NOT_FOUND')) this.log.warn({ dir }, 'no actor model found: every face will be unknown');
      else this.log.error({ dir, code, err: error.message, cause: (error.cause as Error | undefined)?.message }, 'actor model refused; the running model keeps serving');
      return { ok: false, error };
    }
  }

  async stop(): Promise<void> {
    const model = this.model;
    this.model = null;
    await model?.release();
  }
}

/** `dir` itself when it holds a manifest, else its newest subfolder that holds one. */
async function findBundle(dir: string): Promise<string> {
  if (await exists(path.join(dir, 'manifest.json'))) return dir;
  let entries: string[] = [];
  try {
    entries = await readdir(dir);
  } catch {
    // Reported below as no model found.
  }
  const bundles: { dir: string; mtime: number }[] = [];
  for (const name of entries) {
    const manifest = path.join(dir, name, 'manifest.json');
    const info = await stat(manifest).catch(() => undefined);
    if (info) bundles.push({ dir: path.join(dir, name), mtime: info.mtimeMs });
  }
  bundles.sort((a, b) => b.mtime - a.mtime);
  // Only the manifest's absence is reported as "not found"; ActorModel.load says the rest.
  return bundles[0]?.dir ?? dir;
}

async function exists(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined)) !== undefined;
}
