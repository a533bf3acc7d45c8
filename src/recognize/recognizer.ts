// From image bytes to named faces: decode, run the face pipeline, classify with the running model.
import { decodeImage } from '../vision/decode.js';
import type { AnalyzeOptions, FacePipeline } from '../vision/pipeline.js';
import type { Box, RgbImage } from '../vision/types.js';
import type { ActorModel, Classification } from './actor-model.js';

/** A face as the API, the CLI and MQTT report it (CONTRACTS.md: FACE). */
export interface RecognizedFace {
  box: Box;
  actor: string | null;
  confidence: number;
  candidates: { actor: string; score: number }[];
}

export interface Recognition {
  faces: RecognizedFace[];
  /** The model that named the faces; null when none is loaded (every face is then unknown). */
  model: { version: string } | null;
}

/** One counted use of a model: `release()` once the answer is made, so a swapped-out session can be freed. */
export interface ModelLease {
  readonly model: ActorModel;
  release(): void;
}

/** Where the running model comes from; the model store swaps it, the recognizer only reads it. */
export interface ModelSource {
  current(): ActorModel | null;
  /** A lease on the running model; sources that never swap (the CLI) may leave it out. */
  acquire?(): ModelLease | null;
}

export class Recognizer {
  private readonly pipeline: FacePipeline;
  private readonly models: ModelSource;
  private readonly maxPixels: number;

  constructor(pipeline: FacePipeline, models: ModelSource, options: { maxPixels: number }) {
    this.pipeline = pipeline;
    this.models = models;
    this.maxPixels = options.maxPixels;
  }

  async recognizeBytes(bytes: Uint8Array, options: AnalyzeOptions = {}): Promise<Recognition> {
    const image = await decodeImage(bytes, { maxPixels: this.maxPixels });
    return this.recognizeImage(image, options);
  }

  async recognizeImage(image: RgbImage, options: AnalyzeOptions = {}): Promise<Recognition> {
    // Take the model once, so that a swap in the middle cannot mix two versions in one answer; the
    // lease keeps its session alive until this answer is made, even if a swap retires it meanwhile.
    const lease = this.models.acquire ? this.models.acquire() : null;
    const model = this.models.acquire ? (lease?.model ?? null) : this.models.current();
    try {
      const observed = await this.pipeline.analyze(image, options);
      const named: Classification[] = model
        ? await model.classify(observed.map((o) => o.embedding))
        : observed.map(() => ({ actor: null, confidence: 0, candidates: [] }));
      return {
        faces: observed.map((o, i) => ({ box: roundBox(o.box), ...named[i]! })),
        model: model ? { version: model.version } : null,
      };
    } finally {
      lease?.release();
    }
  }
}

function roundBox(box: Box): Box {
  const r = (v: number) => Math.round(v * 10) / 10;
  return { x: r(box.x), y: r(box.y), width: r(box.width), height: r(box.height) };
}
