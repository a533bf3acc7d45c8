// A verified model: every check before a bundle may run, and reference counting once it runs.
import { isRecognizerError, RecognizerError, type ErrorCode } from '../errors.js';
import { ActorModel } from '../recognize/actor-model.js';
import type { ModelLease } from '../recognize/recognizer.js';
import type { EmbedderSpec } from '../vision/embedder.js';

/** Why a bundle was refused, in words a person and a script can both use. */
export interface Refusal {
  version: string | null;
  code: ErrorCode;
  reason: string;
  source: string;
  at: string;
}

/**
 * Loads the bundle at `dir` with every check of {@link ActorModel.load} (checksums, graph, names,
 * one score per actor on a warm-up), then runs the manifest's reference embeddings, which must come
 * out as the actors the publisher recorded. Throws a RecognizerError; never leaves a session open.
 */
export async function loadVerified(dir: string, options: { threads: number; embedder?: EmbedderSpec }): Promise<ActorModel> {
  const model = await ActorModel.load(dir, options);
  const references = model.manifest.references ?? [];
  if (references.length === 0) return model;
  try {
    const { input } = model.manifest;
    if (input.type !== 'embedding') throw new RecognizerError('MODEL_MANIFEST_INVALID', `bundle ${model.version}: references are embeddings, and this model classifies face chips`);
    const size = input.size;
    const bad = references.findIndex((r) => r.embedding.length !== size);
    if (bad >= 0) throw new RecognizerError('MODEL_MANIFEST_INVALID', `bundle ${model.version}: reference ${bad} has ${references[bad]!.embedding.length} values, the head takes ${size}`);
    const named = await model.classify(references.map((r) => Float32Array.from(r.embedding)));
    references.forEach((ref, i) => {
      const got = named[i]!.actor;
      if (got !== ref.actor) {
        throw new RecognizerError('MODEL_REFERENCE_MISMATCH', `bundle ${model.version}: reference ${i} should be ${ref.actor ?? 'unknown'} but the model says ${got ?? 'unknown'}`);
      }
    });
    return model;
  } catch (err) {
    await model.release();
    throw isRecognizerError(err) ? err : new RecognizerError('MODEL_GRAPH_INVALID', `bundle ${model.version}: reference check failed`, { cause: err });
  }
}

/** A refusal record for `err`, naming the version when the manifest could be read. */
export function refusalOf(err: unknown, source: string, version: string | null): Refusal {
  const error = err as Error;
  const cause = (error.cause as Error | undefined)?.message;
  return {
    version,
    code: isRecognizerError(err) ? err.code : 'MODEL_INVALID',
    reason: cause ? `${error.message}: ${cause}` : error.message,
    source,
    at: new Date().toISOString(),
  };
}

/**
 * A model plus the number of uses in flight. The store retires a model when another replaces it;
 * its onnxruntime session is released when the last lease taken before the swap comes back.
 */
export class CountedModel {
  readonly model: ActorModel;
  private uses = 0;
  private retired = false;
  private released: Promise<void> | undefined;
  private readonly onError: (err: unknown) => void;
  private readonly drained: Promise<void>;
  private markDrained!: () => void;

  constructor(model: ActorModel, onError: (err: unknown) => void) {
    this.model = model;
    this.onError = onError;
    this.drained = new Promise((resolve) => (this.markDrained = resolve));
  }

  /** Uses in flight right now. */
  get inFlight(): number {
    return this.uses;
  }

  acquire(): ModelLease {
    if (this.retired) throw new Error(`model ${this.model.version} was retired; take a lease from the store`);
    this.uses++;
    let done = false;
    return {
      model: this.model,
      release: () => {
        // A double release would free the session under another request's feet.
        if (done) return;
        done = true;
        this.uses--;
        if (this.retired && this.uses === 0) void this.free();
      },
    };
  }

  /** No new leases; the session is released now if idle, else when the last lease returns. */
  retire(): Promise<void> {
    this.retired = true;
    if (this.uses === 0) void this.free();
    return this.drained;
  }

  private free(): Promise<void> {
    this.released ??= this.model.release().catch(this.onError).finally(this.markDrained);
    return this.released;
  }
}
