// The face pipeline's data and the one interface every inference backend implements.

/** A decoded image: packed 8-bit RGB, row-major, `width * height * 3` bytes. */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** An axis-aligned rectangle in pixels of the image it came from. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

/** A face found by a detector: where, and how sure (0..1). */
export interface Detection {
  box: Box;
  score: number;
}

/** Which detector finds faces: face-api's SSD MobileNet v1 (accurate) or its Tiny Face Detector (fast). */
export type DetectorKind = 'ssd' | 'tiny';

/**
 * How a face was found: by the detector, by the detector after adding a border, assumed (an aligned
 * crop), `followed` (no detection: landmarks found in a box the caller gave), or `known` (detected in
 * the box of a face the caller knows, and not looked at again). See FaceObservation.via.
 */
export type FaceVia = 'detector' | 'border' | 'aligned-crop' | 'followed' | 'known';

export interface DetectOptions {
  /** Detections scoring below this are dropped (0..1). */
  minScore: number;
  /** At most this many faces per image, best first. */
  maxFaces: number;
  /**
   * A second look for small faces: the detector again on tiles that it sees this many times larger
   * than the whole image (see tiles.ts); 0 or 1: the whole image only.
   */
  tileZoom?: number;
  /**
   * The long side, in pixels, at which the detector sees an image in its whole-image pass
   * (vision.detectorSide; 512 unless given); the second look's strips scale with it. Backends that
   * detect only at their network's fixed size (face-api's square on tfjs, the Tiny detector) ignore it.
   */
  side?: number;
  /**
   * Only this pass of the second look (0-based, modulo {@link secondLookPasses}), with the whole
   * image's: a live camera spreads the look over consecutive frames, so that no frame waits for all
   * of it. Absent: every pass.
   */
  part?: number;
  /**
   * The image is a video frame (a camera's or `scan`'s): its whole-image pass gives the frame's
   * tracks their evidence, a `frame` pass rather than a `photo` one (see {@link DetectPass}).
   */
  video?: boolean;
}

/**
 * What a detector pass is for, which decides whether a backend runs it on the int8 detector
 * (vision.quantize): the whole of a video frame, the whole of a photo (or of any image that is not a
 * video frame: REST requests, enrolment, datasets), or a strip of the second look for small faces.
 */
export type DetectPass = 'frame' | 'photo' | 'second-look';

/** Side of the square aligned face chip the descriptor network takes. */
export const CHIP_SIZE = 150;

/** Length of the face descriptor (the embedding). */
export const EMBEDDING_SIZE = 128;

/**
 * One inference backend: the neural stages of the face pipeline. Alignment, decoding and
 * classification are shared TypeScript around it, so that backends can be compared stage by stage.
 * Implementations: face-api on TensorFlow.js (the reference) and the same networks compiled to ONNX.
 */
export interface FaceBackend {
  readonly name: string;
  /**
   * The compiled graphs it runs, named with their revisions (the int8 SSD's pass revision and ranges'
   * digest, BlazeFace's), once started: a new graph can move the faces found, so caches of faces are
   * keyed by it (FacePipeline.revision); absent where the networks are fixed (face-api on TF.js).
   */
  readonly graphs?: string;
  /** Loads the networks. Safe to call once; resolves when the backend can infer. */
  start(): Promise<void>;
  /** Releases every tensor and session. Safe to call twice. */
  stop(): Promise<void>;
  /** Faces in an image, best first, boxes in the image's pixels. */
  detect(image: RgbImage, options: DetectOptions): Promise<Detection[]>;
  /**
   * Faces in an image seen at its own aspect and `scale` times its size, not in face-api's square
   * (video frames: no padding to pay for, and one pass for the second look); absent where the
   * detector has a fixed input (face-api on TensorFlow.js, the Tiny Face Detector). `pass`: what
   * the pass is for, which a backend may run on another form of the detector (vision.quantize).
   */
  readonly detectScaled?: (image: RgbImage, scale: number, options: DetectOptions, pass: DetectPass) => Promise<Detection[]>;
  /**
   * The most pixels one `second-look` pass of detectScaled may show the detector when the look is
   * taken whole (no DetectOptions.part): set where such a pass keeps nothing of its size after it
   * (no arena), so that fewer, larger passes cost only time; absent: tiles.ts's bound for every pass.
   */
  readonly wholeLookPixels?: number;
  /** The 68 landmarks (iBUG 300-W order) of the face in `box`, in the image's pixels. */
  landmarks(image: RgbImage, boxes: Box[]): Promise<Point[][]>;
  /** Which embedding network `embed` runs (see embedder.ts); face-api's descriptor when absent. */
  readonly embedNetwork?: 'face-api-resnet34' | 'mobilefacenet';
  /** The embeddings of aligned face chips (the network's own chip size), one per chip. */
  embed(chips: RgbImage[]): Promise<Float32Array[]>;
}
