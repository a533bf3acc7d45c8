// Faces of a video frame with their embeddings and names, timing every stage for the metrics.
import type { Classification } from '../recognize/actor-model.js';
import type { ModelSource } from '../recognize/recognizer.js';
import { FacePipeline } from '../vision/pipeline.js';
import type { Box, DetectOptions, FaceBackend, Point, RgbImage } from '../vision/types.js';
import type { TrackInput } from './tracker.js';

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
  constructor(private readonly inner: FaceBackend, private readonly timer: StageTimer) {}
  get name(): string {
    return this.inner.name;
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
  private readonly pipeline: FacePipeline;

  constructor(
    backend: FaceBackend,
    detectOptions: DetectOptions,
    private readonly models: ModelSource,
    private readonly timer: StageTimer = () => undefined,
  ) {
    this.pipeline = new FacePipeline(new TimedBackend(backend, timer), detectOptions);
  }

  /** The faces of one frame; `version` is the model that named them (null without a model). */
  async analyze(image: RgbImage): Promise<{ faces: AnalyzedFace[]; version: string | null }> {
    // Taken once, so that a hot swap in the middle cannot mix two models in one frame; the lease
    // keeps the swapped-out model's session alive until this frame is done.
    const lease = this.models.acquire ? this.models.acquire() : null;
    const model = this.models.acquire ? (lease?.model ?? null) : this.models.current();
    try {
      const observed = await this.pipeline.analyze(image, { fallback: 'none' });
      if (observed.length === 0) return { faces: [], version: model?.version ?? null };
      const start = performance.now();
      const named: Classification[] = model ? await model.classify(observed.map((o) => o.embedding)) : observed.map(() => ({ actor: null, confidence: 0, candidates: [] }));
      if (model) this.timer('classify', (performance.now() - start) / 1000);
      return {
        faces: observed.map((o, i) => ({ box: o.box, embedding: o.embedding, actor: named[i]!.actor, confidence: named[i]!.confidence, candidates: named[i]!.candidates })),
        version: model?.version ?? null,
      };
    } finally {
      lease?.release();
    }
  }
}
