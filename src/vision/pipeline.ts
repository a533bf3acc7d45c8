// The face pipeline: detect, find landmarks, align and embed every face of an image.
import { addBorder, eyesFromLandmarks, eyesOfAlignedCrop } from './align.js';
import { DEFAULT_EMBEDDER, Embedder, embedderSpec } from './embedder.js';
import { faceQuality, type FaceQuality } from './quality.js';
import { pictureRegion } from './picture.js';
import { detectFrame, secondLookPasses } from './tiles.js';
import { centreDistance, iou, similarSize } from './boxes.js';
import type { Box, Detection, DetectOptions, FaceBackend, FaceVia, Point, RgbImage } from './types.js';

/** One face found in an image, with its descriptor. Coordinates are the image's pixels. */
export interface FaceObservation {
  box: Box;
  /** Detector confidence (0..1); 0 for a face assumed from an aligned crop. */
  score: number;
  landmarks: Point[];
  embedding: Float32Array;
  /**
   * How the face was found (FaceVia): `followed` in a box of AnalyzeOptions.follow; `known` in a box
   * of AnalyzeOptions.known, with neither landmarks nor an embedding (both empty).
   */
  via: FaceVia;
  /** For a `followed` face: its index in AnalyzeOptions.follow. */
  follows?: number;
  /** For a `known` face: its index in AnalyzeOptions.known. */
  knows?: number;
  /** The dlib-chip-150 an image classifier takes (see Embedder.classifierChip); kept only when asked (`AnalyzeOptions.chips`). */
  chip?: RgbImage;
  /** How much the face is worth as evidence (size, sharpness, pose, detector score): see quality.ts. */
  quality: FaceQuality;
}

/**
 * How to treat an image where the detector finds nothing:
 * - `none`: no faces (camera frames, photos of anything);
 * - `retry`: detect again with a border added, since SSD misses faces that fill the whole image;
 * - `face-crop`: as `retry`, and then take the image as a face crop aligned in the ArcFace layout
 *   (datasets of tight crops, where every image is known to be one face).
 */
export type FallbackMode = 'none' | 'retry' | 'face-crop';

export interface AnalyzeOptions {
  fallback?: FallbackMode;
  /** Keep each face's aligned chip, for image classifiers; off by default so live video pays nothing. */
  chips?: boolean;
  /** false: no second look for small faces (DetectOptions.tileZoom) for this image. */
  tiles?: boolean;
  /** With the second look, only this pass of it ({@link DetectOptions.part}): a live camera's frames take one each. */
  tilePart?: number;
  /** The image is a video frame, whose faces feed tracks ({@link DetectOptions.video}); a photo otherwise. */
  video?: boolean;
  /**
   * Boxes of faces the caller follows (a tracker's faces of the last detection). Each that no
   * detected face overlaps gets landmarks and an embedding in that box, without a detection: a
   * small face only the second look finds is followed between its looks, and a face the detector
   * misses for a frame is still seen. The caller decides whether the face is still the one it
   * followed (the embedding); nothing here says a face is there.
   */
  follow?: readonly Box[];
  /**
   * Boxes of faces the caller knows well enough not to look at again (a tracker's settled tracks,
   * {@link Tracker.settled}). A detection that is plainly the same face (see {@link knownFaces}) is
   * returned as `known`, without landmarks or an embedding: they cost more than the detection.
   */
  known?: readonly Box[];
}

/** A followed box that overlaps a detected face this much is that face (the detector found it again). */
const FOUND_AGAIN_IOU = 0.3;

/**
 * A known box and a detection are the same face when they overlap this much, are about the same
 * size, and neither overlaps anything else (FOUND_AGAIN_IOU): a face met by another, or split in
 * two, is looked at again. Within 0.4 s (track.detectSeconds) a face walking across a 640×360 frame
 * moves a few pixels; 0.5 still lets a face move a sixth of its width.
 */
const KNOWN_IOU = 0.5;

/**
 * The retry adds half the image's side on every side and accepts less sure detections: measured on
 * the tight crops of the face datasets, that finds most faces the plain detector missed (a third or
 * a quarter of the side, or a stricter score, found far fewer).
 */
const BORDER_FRACTION = 0.5;

/** Changes whenever the faces found for an image may change: caches of faces are keyed by it. */
export const PIPELINE_REVISION = 11;
const RETRY_MIN_SCORE = 0.3;

/** How far (in fractions of the image's width) detected eyes may lie from the ArcFace template's. */
const ALIGNED_EYE_TOLERANCE = 0.12;

/**
 * How far the detected eyes' distance may be from the template's, as a ratio, for a face the plain
 * detector found. Measured: aligned crops (glint) 0.93–1.07; LFW's face-centred photos pass the
 * position check at half the scale (0.41–0.57). Landmarks found only after adding a border are too
 * rough on a face that fills the image for this check: there the position decides, as measured before.
 */
const ALIGNED_SCALE_RANGE = [0.8, 1.25] as const;

export class FacePipeline {
  readonly backend: FaceBackend;
  /** Cuts each face's chip and embeds it (`vision.embedder`). */
  readonly embedder: Embedder;
  private detectOptions: DetectOptions;

  constructor(
    backend: FaceBackend,
    detectOptions: DetectOptions,
    embedder = new Embedder(embedderSpec(backend.embedNetwork === 'mobilefacenet' ? DEFAULT_EMBEDDER : 'face-api-68'), backend),
  ) {
    this.backend = backend;
    this.detectOptions = detectOptions;
    this.embedder = embedder;
  }

  /** New detection settings (a live configuration update): the next image is analysed with them. */
  setDetectOptions(options: DetectOptions): void {
    this.detectOptions = options;
  }

  /** Detector passes in the second look of this video frame ({@link secondLookPasses}: over its picture, inside black bars); 0: none. */
  secondLookPasses(frame: RgbImage): number {
    return secondLookPasses(frame.width, frame.height, this.detectOptions, this.backend.detectScaled !== undefined, pictureRegion(frame));
  }

  /** Names what changes the faces and embeddings this pipeline finds, for caches keyed by it. */
  get revision(): string {
    const graphs = this.backend.graphs ? `-${this.backend.graphs}` : '';
    return `${this.backend.name}${graphs}-${this.embedder.spec.id}-r${PIPELINE_REVISION}`;
  }

  async analyze(image: RgbImage, options: AnalyzeOptions = {}): Promise<FaceObservation[]> {
    const fallback = options.fallback ?? 'none';
    // A dataset photo is taken for its one prominent face: the second look for small faces is for frames.
    const look =
      fallback === 'face-crop' || options.tiles === false
        ? { ...this.detectOptions, tileZoom: 0 }
        : options.tilePart === undefined
          ? this.detectOptions
          : { ...this.detectOptions, part: options.tilePart };
    const detect = options.video ? { ...look, video: true } : look;
    let found = await this.detectAndLocate(image, 0, image, detect, options.follow, options.known);
    let via: FaceObservation['via'] = 'detector';
    if (found.length === 0 && fallback !== 'none') {
      const bordered = addBorder(image, BORDER_FRACTION);
      const lenient = { ...this.detectOptions, tileZoom: 0, minScore: Math.min(this.detectOptions.minScore, RETRY_MIN_SCORE) };
      found = await this.detectAndLocate(bordered.image, bordered.offset, image, lenient);
      via = 'border';
    }
    if (fallback === 'face-crop' && (found.length === 0 || (found.length === 1 && looksAligned(image, found[0]!.landmarks, via === 'detector')))) {
      // An aligned crop: the template says exactly where the eyes are, better than landmarks
      // found on a face that fills the frame (measured: 96% against 93% named correctly), whether
      // the plain detector found it or only the retry did (taking the template for both lifted
      // the pooled photos' closed-set top-1 from 97.4% to 97.8%).
      const face = {
        box: { x: 0, y: 0, width: image.width, height: image.height },
        score: 0,
        landmarks: found[0]?.landmarks ?? [],
        via: 'aligned-crop' as const,
      };
      const chip = this.embedder.chip(image, face);
      const [embedding] = await this.embedder.embedChips([chip]);
      return [
        {
          ...face,
          embedding: embedding!,
          quality: faceQuality(face.box, face.landmarks, 0, chip, this.embedder.tuning.blurMargin),
          ...(options.chips ? { chip: this.embedder.classifierChip(image, face, chip) } : {}),
        },
      ];
    }
    if (found.length === 0) return [];
    // Cutting a chip is JavaScript on this thread (under 1 ms since revision 10, 13 ms before); yield
    // between faces so that a crowded frame does not hold the event loop (and the API) for the crowd.
    const looked = found.filter((f) => f.knows === undefined);
    const chips: RgbImage[] = [];
    for (const f of looked) {
      chips.push(this.embedder.chip(image, { landmarks: f.landmarks, via }));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const embeddings = chips.length > 0 ? await this.embedder.embedChips(chips) : [];
    const faces = looked.map((f, i): FaceObservation => ({
      ...f,
      embedding: embeddings[i]!,
      via: f.follows === undefined ? via : 'followed',
      quality: faceQuality(f.box, f.landmarks, f.score, chips[i]!, this.embedder.tuning.blurMargin),
      ...(options.chips ? { chip: this.embedder.classifierChip(image, { landmarks: f.landmarks, via }, chips[i]!) } : {}),
    }));
    for (const f of found) if (f.knows !== undefined) faces.push({ ...f, embedding: new Float32Array(0), via: 'known', quality: KNOWN_QUALITY });
    return faces;
  }

  /**
   * Detects on `searched` and maps boxes and landmarks back to `original` by `offset`; the `follow`
   * boxes no detection overlaps get landmarks in the same call (score 0, `follows` their index); a
   * detection of a `known` box's face gets none (`knows` its index). Both kinds of box are `original`'s
   * pixels: the caller passes them only with no offset.
   */
  private async detectAndLocate(
    searched: RgbImage,
    offset: number,
    original: RgbImage,
    options: DetectOptions,
    follow: readonly Box[] = [],
    known: readonly Box[] = [],
  ) {
    // Photos and video frames alike at their own aspect where the backend can (SSD on onnxruntime):
    // a landscape image is not padded to face-api's square (a 640×360 frame: SSD 1.58–1.82× faster,
    // IoU 0.999 to the square's boxes); other backends see the square, with tiles for the second look.
    const found: (Detection & { follows?: number })[] = await detectFrame(this.backend, searched, options);
    for (const follows of notFoundAgain(found, follow)) found.push({ box: follow[follows]!, score: 0, follows });
    const knows = knownFaces(found, known);
    const out: { box: Box; score: number; landmarks: Point[]; follows?: number; knows?: number }[] = [];
    for (const [d, k] of knows)
      out.push({
        box: clipBox({ x: d.box.x - offset, y: d.box.y - offset, width: d.box.width, height: d.box.height }, original),
        score: d.score,
        landmarks: [],
        knows: k,
      });
    const detections = found.filter((d) => !knows.has(d));
    if (detections.length === 0) return out;
    const marks = await this.backend.landmarks(
      searched,
      detections.map((d) => d.box),
    );
    detections.forEach((d, i) => {
      const landmarks = marks[i];
      if (!landmarks || landmarks.length !== 68) return;
      out.push({
        box: clipBox({ x: d.box.x - offset, y: d.box.y - offset, width: d.box.width, height: d.box.height }, original),
        score: d.score,
        landmarks: landmarks.map((p) => ({ x: p.x - offset, y: p.y - offset })),
        ...(d.follows === undefined ? {} : { follows: d.follows }),
      });
    });
    return out;
  }
}

/**
 * The indices of the `follow` boxes whose faces the detections did not find again. A detection that
 * overlaps a box by FOUND_AGAIN_IOU is its face where it was. One at about its size (heights within
 * 1.5×) whose centre is within one face height of the box's is its face after it moved (a walk, a
 * pan, a zoom): the tracker takes it up by its embedding or its place (Tracker.turnedAway), and a look
 * into the old box would embed the background or half a face for nothing. Each detection stands for
 * one moved box, the nearest, so that a face the detector missed beside one that moved is still
 * followed. Measured (`scan`, detected frames): the Hera Pheri scene's zoom followed 19 boxes, 15 of
 * them with their face detected nearby (IoU 0.02–0.27 with the old box, centres 0.4–0.9 of a face
 * height apart); the Avengers scene 6 of 8.
 */
export function notFoundAgain(found: readonly Detection[], follow: readonly Box[]): number[] {
  const taken = new Set<number>();
  const left: number[] = [];
  follow.forEach((box, i) => {
    if (box.width < 1 || box.height < 1) return;
    const again = found.findIndex((d) => iou(d.box, box) >= FOUND_AGAIN_IOU);
    if (again >= 0) taken.add(again);
    else left.push(i);
  });
  const pairs: { i: number; j: number; distance: number }[] = [];
  for (const i of left) {
    found.forEach((d, j) => {
      const distance = centreDistance(follow[i]!, d.box);
      if (!taken.has(j) && similarSize(follow[i]!, d.box) && distance <= Math.max(follow[i]!.height, d.box.height)) pairs.push({ i, j, distance });
    });
  }
  const moved = new Set<number>();
  for (const { i, j } of pairs.sort((a, b) => a.distance - b.distance)) {
    if (moved.has(i) || taken.has(j)) continue;
    moved.add(i);
    taken.add(j);
  }
  return left.filter((i) => !moved.has(i));
}

/** What a known face is worth as evidence: nothing (it adds none; its track has its faces). */
const KNOWN_QUALITY: FaceQuality = { score: 0, margin: 0, size: 0, sharpness: 0, pose: 0, detector: 0 };

/**
 * The detections that are a known box's face, with the box's index: the one detection (not a
 * followed box) that overlaps the box by KNOWN_IOU at about its size, when nothing else overlaps
 * either of them by FOUND_AGAIN_IOU.
 */
export function knownFaces(detections: readonly (Detection & { follows?: number })[], known: readonly Box[]): Map<Detection, number> {
  const out = new Map<Detection, number>();
  known.forEach((box, k) => {
    const near = detections.filter((d) => iou(d.box, box) >= FOUND_AGAIN_IOU);
    const d = near[0];
    if (near.length !== 1 || !d || d.follows !== undefined || iou(d.box, box) < KNOWN_IOU || out.has(d)) return;
    const ratio = d.box.height / Math.max(1, box.height);
    if (ratio < 0.8 || ratio > 1.25) return;
    if (known.some((other, o) => o !== k && iou(d.box, other) >= FOUND_AGAIN_IOU)) return;
    out.set(d, k);
  });
  return out;
}

/** Whether a square image's eyes sit where the ArcFace template puts them. */
function looksAligned(image: RgbImage, landmarks: Point[], checkScale: boolean): boolean {
  if (Math.abs(image.width - image.height) > 2 || landmarks.length !== 68) return false;
  const want = eyesOfAlignedCrop(image.width, image.height);
  const got = eyesFromLandmarks(landmarks);
  const off = Math.max(Math.hypot(got.left.x - want.left.x, got.left.y - want.left.y), Math.hypot(got.right.x - want.right.x, got.right.y - want.right.y));
  const scale = Math.hypot(got.right.x - got.left.x, got.right.y - got.left.y) / Math.hypot(want.right.x - want.left.x, want.right.y - want.left.y);
  return off <= ALIGNED_EYE_TOLERANCE * image.width && (!checkScale || (scale >= ALIGNED_SCALE_RANGE[0] && scale <= ALIGNED_SCALE_RANGE[1]));
}

function clipBox(box: Box, image: RgbImage): Box {
  const x = Math.max(0, box.x);
  const y = Math.max(0, box.y);
  return {
    x,
    y,
    width: Math.max(0, Math.min(image.width, box.x + box.width) - x),
    height: Math.max(0, Math.min(image.height, box.y + box.height) - y),
  };
}
