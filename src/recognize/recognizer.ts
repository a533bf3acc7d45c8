// From image bytes to named faces: decode, run the face pipeline, classify with the running model.
import { decodeImage, originalBox } from '../vision/decode.js';
import type { AnalyzeOptions, FaceObservation, FacePipeline } from '../vision/pipeline.js';
import type { FaceQuality } from '../vision/quality.js';
import type { Box, RgbImage } from '../vision/types.js';
import type { ActorModel, Classification, TrackModel } from './actor-model.js';

/** A face as the API, the CLI and MQTT report it (CONTRACTS.md: FACE). */
export interface RecognizedFace {
  box: Box;
  actor: string | null;
  confidence: number;
  candidates: { actor: string; score: number }[];
  /** How much the face is worth as evidence, and the margin a face this blurred needs (see vision/quality.ts). */
  quality: FaceQuality;
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
  /** Where the running model came from (a folder, S3, `starter`), for P/model. */
  currentSource?(): string | null;
}

/** A face found and named: the pipeline's observation with the model's answer. */
export type NamedFace = FaceObservation & Classification;

export interface RecognizerOptions {
  /** Largest decoded image accepted by recognizeBytes. */
  maxPixels: number;
  /** recognizeBytes decodes to at most this long side (vision.decodeMaxSide); boxes still come in the original's pixels. */
  maxSide?: number;
  /** Told how long each classification took (a metrics histogram in the daemon). */
  onClassify?: (seconds: number) => void;
}

export class Recognizer {
  private readonly pipeline: FacePipeline;
  private readonly models: ModelSource;
  private readonly options: RecognizerOptions;

  constructor(pipeline: FacePipeline, models: ModelSource, options: RecognizerOptions) {
    this.pipeline = pipeline;
    this.models = models;
    this.options = options;
  }

  async recognizeBytes(bytes: Uint8Array, options: AnalyzeOptions = {}): Promise<Recognition> {
    const image = await decodeImage(bytes, { maxPixels: this.options.maxPixels, maxSide: this.options.maxSide });
    const result = await this.recognizeImage(image, options);
    return image.scale === 1 ? result : { ...result, faces: result.faces.map((f) => ({ ...f, box: originalBox(f.box, image.scale) })) };
  }

  /** Every face of an image, as the API and the CLI report them. */
  async recognizeImage(image: RgbImage, options: AnalyzeOptions = {}): Promise<Recognition> {
    const { faces, version } = await this.nameFaces(image, options);
    return {
      faces: faces.map((f) => ({ box: roundBox(f.box), actor: f.actor, confidence: f.confidence, candidates: f.candidates, quality: f.quality })),
      model: version === null ? null : { version },
    };
  }

  /** Every face of an image with its embedding and name; `version` is the model that named them. */
  async nameFaces(image: RgbImage, options: AnalyzeOptions = {}): Promise<{ faces: NamedFace[]; version: string | null; model: TrackModel | null }> {
    // Take the model once, so that a swap in the middle cannot mix two versions in one answer; the
    // lease keeps its session alive until this answer is made, even if a swap retires it meanwhile.
    const lease = this.models.acquire ? this.models.acquire() : null;
    const model = this.models.acquire ? (lease?.model ?? null) : this.models.current();
    try {
      // Chips are kept only for a model that classifies them, so the embedding path pays nothing.
      const observed = await this.pipeline.analyze(image, { ...options, chips: options.chips || model?.takesChips });
      // A known face has no embedding to classify: its track has the name.
      const looked = observed.filter((o) => o.via !== 'known');
      const named = new Map<FaceObservation, Classification>();
      if (model && looked.length > 0) {
        const start = performance.now();
        const classes = await model.classifyFaces(looked);
        this.options.onClassify?.((performance.now() - start) / 1000);
        looked.forEach((o, i) => named.set(o, classes[i]!));
      }
      return {
        faces: observed.map((o) => ({ ...o, ...(named.get(o) ?? { actor: null, confidence: 0, candidates: [] }) })),
        version: model?.version ?? null,
        model: model?.trackModel ?? null,
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
