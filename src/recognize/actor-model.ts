// A loaded actor model: the verified bundle and its onnxruntime session, naming faces or refusing them.
import * as ort from 'onnxruntime-node';
import { RecognizerError } from '../errors.js';
import type { RgbImage } from '../vision/types.js';
import { checkImageInput, greyChip, imageTensor } from './image-classifier.js';
import { bundleEmbedderId, type EmbedderSpec } from '../vision/embedder.js';
import { readBundle, type Manifest } from './manifest.js';

/** One face's answer: an actor, or null when the best score is under that actor's threshold. */
export interface Classification {
  actor: string | null;
  /** The best score (cosine similarity or probability, as the manifest says). */
  confidence: number;
  /** The best few actors with their scores, best first. */
  candidates: { actor: string; score: number }[];
  /** Every actor's score, in the order of the model's actors (for tracks, which add faces up). */
  scores?: Float32Array;
}

/** The model that scored a frame's faces, as the tracker needs it to name a track. */
export interface TrackModel {
  version: string;
  actors: readonly string[];
  /** Cosines to class means (aggregated as the cosine of the mean embedding) or probabilities (averaged). */
  score: 'cosine' | 'probability';
  /** The per-face threshold of each actor (by index). */
  thresholds: readonly number[];
}

const CANDIDATES = 3;

export class ActorModel {
  readonly manifest: Manifest;
  readonly dir: string;
  readonly loadedAt: Date;
  private readonly session: ort.InferenceSession;

  private constructor(manifest: Manifest, dir: string, session: ort.InferenceSession) {
    this.manifest = manifest;
    this.dir = dir;
    this.session = session;
    this.loadedAt = new Date();
  }

  get version(): string {
    return this.manifest.version;
  }

  get actors(): readonly string[] {
    return this.manifest.actors;
  }

  /** Whether faces are classified from their aligned chips (an image classifier), not their embeddings. */
  get takesChips(): boolean {
    return this.manifest.input.type === 'image';
  }

  /**
   * Loads and verifies a bundle: manifest schema, every file's size and sha256, the graph loads, its
   * input and output match the manifest, and a warm-up inference gives one score per actor.
   */
  static async load(dir: string, options: { threads?: number; embedder?: EmbedderSpec } = {}): Promise<ActorModel> {
    const { manifest, files } = await readBundle(dir);
    if (options.embedder) checkEmbedder(manifest, options.embedder);
    const graph = files.get(manifest.head.graph)!;
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(graph, {
        intraOpNumThreads: options.threads || 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw new RecognizerError('MODEL_GRAPH_INVALID', `bundle ${manifest.version}: ${manifest.head.graph} is not a loadable ONNX graph`, { cause: err });
    }
    const model = new ActorModel(manifest, dir, session);
    try {
      await model.verifyShapes();
    } catch (err) {
      await session.release();
      throw err;
    }
    return model;
  }

  private async verifyShapes(): Promise<void> {
    const { input, head, actors, version } = this.manifest;
    if (!this.session.inputNames.includes(input.name) || !this.session.outputNames.includes(head.output)) {
      throw new RecognizerError(
        'MODEL_GRAPH_INVALID',
        `bundle ${version}: the graph's input or output names differ from the manifest (${input.name} -> ${head.output})`,
      );
    }
    if (input.type === 'image') checkImageInput(this.session, input, version);
    let scores: Float32Array[];
    try {
      scores = input.type === 'image' ? await this.chipScores([greyChip()]) : await this.scores([new Float32Array(input.size).fill(1 / Math.sqrt(input.size))]);
    } catch (err) {
      throw new RecognizerError('MODEL_GRAPH_INVALID', `bundle ${version}: warm-up inference failed`, { cause: err });
    }
    if (scores[0]?.length !== actors.length) {
      throw new RecognizerError('MODEL_GRAPH_INVALID', `bundle ${version}: the graph gives ${scores[0]?.length ?? 0} scores for ${actors.length} actors`);
    }
  }

  /** The head's raw scores, one row per embedding. */
  async scores(embeddings: Float32Array[]): Promise<Float32Array[]> {
    const { input, version } = this.manifest;
    if (input.type !== 'embedding') throw new RecognizerError('MODEL_INPUT_MISMATCH', `model ${version} classifies aligned face chips, not embeddings`);
    if (embeddings.length === 0) return [];
    const batch = new Float32Array(embeddings.length * input.size);
    embeddings.forEach((e, i) => {
      if (e.length !== input.size) throw new RecognizerError('MODEL_INPUT_MISMATCH', `embedding of ${e.length} values, the model takes ${input.size}`);
      batch.set(e, i * input.size);
    });
    return this.run(new ort.Tensor('float32', batch, [embeddings.length, input.size]), embeddings.length);
  }

  /** An image classifier's raw scores, one row per aligned face chip. */
  async chipScores(chips: readonly RgbImage[]): Promise<Float32Array[]> {
    const { input, version } = this.manifest;
    if (input.type !== 'image') throw new RecognizerError('MODEL_INPUT_MISMATCH', `model ${version} classifies embeddings, not face chips`);
    return chips.length === 0 ? [] : this.run(imageTensor(chips, input), chips.length);
  }

  private async run(tensor: ort.Tensor, rows: number): Promise<Float32Array[]> {
    const out = await this.session.run({ [this.manifest.input.name]: tensor });
    const result = out[this.manifest.head.output];
    if (!result) throw new RecognizerError('MODEL_GRAPH_INVALID', `the graph gave no ${this.manifest.head.output}`);
    const data = result.data as Float32Array;
    const k = data.length / rows;
    return Array.from({ length: rows }, (_, i) => data.slice(i * k, (i + 1) * k));
  }

  async classify(embeddings: Float32Array[]): Promise<Classification[]> {
    const rows = await this.scores(embeddings);
    return rows.map((row) => this.decide(row));
  }

  /**
   * Names faces from what this model takes: their chips (see `takesChips`) or their embeddings; each
   * answer keeps its scores. A blurred face must clear its actor's threshold by its quality's margin
   * (cosine heads; see vision/quality.ts).
   */
  async classifyFaces(faces: readonly { embedding: Float32Array; chip?: RgbImage; quality?: { margin: number } }[]): Promise<Classification[]> {
    const rows = this.takesChips
      ? await this.chipScores(faces.map((f) => f.chip ?? missingChip(this.version)))
      : await this.scores(faces.map((f) => f.embedding));
    const cosine = this.manifest.head.score === 'cosine';
    return rows.map((row, i) => ({ ...this.decide(row, cosine ? (faces[i]!.quality?.margin ?? 0) : 0), scores: row }));
  }

  /** What a tracker needs to name a track from its faces' scores. */
  get trackModel(): TrackModel {
    const { actors, thresholds, head } = this.manifest;
    const track = thresholds.track ?? -Infinity;
    return { version: this.version, actors, score: head.score, thresholds: actors.map((a) => Math.max(thresholds.perActor[a] ?? thresholds.default, track)) };
  }

  /** Names the best actor when its score reaches that actor's threshold (plus `margin`), else unknown. */
  decide(row: Float32Array, margin = 0): Classification {
    const order = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]!);
    const candidates = order.slice(0, CANDIDATES).map((i) => ({ actor: this.manifest.actors[i]!, score: row[i]! }));
    const best = candidates[0]!;
    const { thresholds } = this.manifest;
    const threshold = thresholds.perActor[best.actor] ?? thresholds.default;
    return { actor: best.score >= threshold + margin ? best.actor : null, confidence: best.score, candidates };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * Refuses a head fitted on another embedder's vectors: its scores would look like answers and mean
 * nothing. Image classifiers cut their own chip and take no embedding.
 */
function checkEmbedder(manifest: Manifest, running: EmbedderSpec): void {
  const { input, version } = manifest;
  if (input.type !== 'embedding') return;
  const made = bundleEmbedderId(input);
  if (made === running.id && input.size !== running.size) {
    throw new RecognizerError(
      'MODEL_EMBEDDER_MISMATCH',
      `bundle ${version} takes embeddings of ${input.size} values, and ${made} gives ${running.size}: the bundle is not what its manifest says`,
    );
  }
  if (made !== running.id) {
    throw new RecognizerError(
      'MODEL_EMBEDDER_MISMATCH',
      `bundle ${version} was made for the embedder ${made} (${input.size} values), and this daemon runs ${running.id} (${running.size}): retrain it with vision.embedder ${running.id}, or run the daemon with vision.embedder ${made}`,
    );
  }
}

function missingChip(version: string): never {
  throw new RecognizerError('MODEL_INPUT_MISMATCH', `model ${version} classifies face chips, and a face came without one (analyze with chips: true)`);
}
