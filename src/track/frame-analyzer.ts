// Faces of a video frame with their embeddings and names, timing every stage for the metrics.
import type { Classification, TrackModel } from '../recognize/actor-model.js';
import { Recognizer, type ModelSource } from '../recognize/recognizer.js';
import { Embedder, type EmbedderSpec, type EmbedderTuning } from '../vision/embedder.js';
import { FacePipeline } from '../vision/pipeline.js';
import type { Box, DetectOptions, FaceBackend, Point, RgbImage } from '../vision/types.js';
import type { TrackBox, TrackInput } from './tracker.js';

/** The pipeline's stages, as metrics name them. */
export type Stage = 'detect' | 'landmarks' | 'embed' | 'classify';

/** Where stage timings go (a Prometheus histogram in the daemon, nothing in `scan`). */
export type StageTimer = (stage: Stage, seconds: number) => void;

/** A face of a frame: what the tracker needs, plus the candidates for the REST API. */
export interface AnalyzedFace extends TrackInput {
  candidates: Classification['candidates'];
}

/** Wraps a backend to time each call; the pipeline around it does not know. */
class TimedBackend implements FaceBackend {
  readonly detectScaled?: FaceBackend['detectScaled'];
  constructor(
    private readonly inner: FaceBackend,
    private readonly timer: StageTimer,
  ) {
    const scaled = inner.detectScaled;
    if (scaled) this.detectScaled = (image, scale, options, pass) => this.time('detect', () => scaled(image, scale, options, pass));
  }
  get name(): string {
    return this.inner.name;
  }
  get embedNetwork() {
    return this.inner.embedNetwork;
  }
  get wholeLookPixels() {
    return this.inner.wholeLookPixels;
  }
  get graphs() {
    return this.inner.graphs;
  }
  start(): Promise<void> {
    return this.inner.start();
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
  detect(image: RgbImage, options: DetectOptions) {
    return this.time('detect', () => this.inner.detect(image, options));
  }
  landmarks(image: RgbImage, boxes: Box[]): Promise<Point[][]> {
    return this.time('landmarks', () => this.inner.landmarks(image, boxes));
  }
  embed(chips: RgbImage[]): Promise<Float32Array[]> {
    return this.time('embed', () => this.inner.embed(chips));
  }
  private async time<T>(stage: Stage, run: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await run();
    } finally {
      this.timer(stage, (performance.now() - start) / 1000);
    }
  }
}

export class FrameAnalyzer {
  private readonly recognizer: Recognizer;
  private readonly pipeline: FacePipeline;
  /** The embedder's cosine bars (track linking, grouping strangers). */
  readonly tuning: EmbedderTuning;

  constructor(backend: FaceBackend, detectOptions: DetectOptions, models: ModelSource, embedder: EmbedderSpec, timer: StageTimer = () => undefined) {
    const timed = new TimedBackend(backend, timer);
    const pipeline = (this.pipeline = new FacePipeline(timed, detectOptions, new Embedder(embedder, timed)));
    this.tuning = pipeline.embedder.tuning;
    // Frames are never decoded from bytes here, so the pixel limit does not apply.
    this.recognizer = new Recognizer(pipeline, models, { maxPixels: Number.MAX_SAFE_INTEGER, onClassify: (seconds) => timer('classify', seconds) });
  }

  /** Detector passes in the second look of this frame (over its picture, inside black bars); 0: none. */
  secondLookPasses(frame: RgbImage): number {
    return this.pipeline.secondLookPasses(frame);
  }

  /** New detection settings (a live configuration update): the next frame is analysed with them. */
  setDetectOptions(options: DetectOptions): void {
    this.pipeline.setDetectOptions(options);
  }

  /**
   * The faces of one frame; `model` is the model that named them (null without a model). `follow`:
   * the tracks followed from the last detection ({@link Tracker.followed}); a face found in one's box
   * without a detection carries its id in `follows`. `known`: the tracks settled enough not to look
   * at again ({@link Tracker.settled}); a face detected in one's box carries its id in `known`, with
   * no embedding, no name of its own and no evidence (quality 0).
   */
  async analyze(
    image: RgbImage,
    options: { tiles?: boolean; tilePart?: number; follow?: readonly TrackBox[]; known?: readonly TrackBox[] } = {},
  ): Promise<{ faces: AnalyzedFace[]; model: TrackModel | null }> {
    const follow = options.follow ?? [];
    const known = options.known ?? [];
    const { faces, model } = await this.recognizer.nameFaces(image, {
      fallback: 'none',
      ...(options.tiles === undefined ? {} : { tiles: options.tiles }),
      ...(options.tilePart === undefined ? {} : { tilePart: options.tilePart }),
      video: true,
      follow: follow.map((f) => f.box),
      known: known.map((k) => k.box),
    });
    return {
      faces: faces.map((f) => ({
        box: f.box,
        embedding: f.embedding,
        actor: f.actor,
        confidence: f.confidence,
        candidates: f.candidates,
        quality: f.quality.score,
        margin: f.quality.margin,
        ...(f.scores ? { scores: f.scores } : {}),
        ...(f.follows === undefined ? {} : { follows: follow[f.follows]!.id }),
        ...(f.knows === undefined ? {} : { known: known[f.knows]!.id }),
      })),
      model,
    };
  }
}
