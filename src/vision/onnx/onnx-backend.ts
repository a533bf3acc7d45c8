// The fast backend: face-api's networks compiled to ONNX and run by onnxruntime-node.
import path from 'node:path';
import os from 'node:os';
import { RecognizerError } from '../../errors.js';
import type { Box, Detection, DetectOptions, DetectorKind, DetectPass, FaceBackend, Point, RgbImage } from '../types.js';
import { EMBEDDING_SIZE } from '../types.js';
import { reshapedDims, selectSsd, selectSsdFrame, selectTiny } from './detections.js';
import { DETECTOR_MAX_SIDE, detectReduced, reduceForDetector } from '../detector-input.js';
import { LANDMARK_INPUT_SIZE } from './landmark-graph.js';
import { faceModelPath, type FaceModelOptions } from './model-cache.js';
import { clipRegion, writeSquare, type Region } from './preprocess.js';
import { RECOGNITION_INPUT_SIZE } from './recognition-graph.js';
import { SSD_INPUT_SIZE } from './ssd-graph.js';
import { anchorCentersAndSizes, ssdAnchors } from './ssd-anchors.js';
import { MOBILEFACENET, mobileFaceNetModelPath } from './mobilefacenet.js';
import type { EmbeddingNetwork } from '../embedder.js';
import { decodeTiny, TINY_ANCHORS, TINY_DEFAULT_INPUT_SIZE } from './tiny-detector-graph.js';
import { BufferPool } from './buffer-pool.js';
import { BLAZEFACE_SIDE } from './blazeface-graph.js';
import { selectBlazeFace } from './blazeface.js';
import { blazeFaceModelPath } from './model-cache.js';
import { WorkerSessions, type WireTensor } from './worker-sessions.js';
import type { Quantize } from './int8-models.js';

export interface OnnxBackendOptions extends FaceModelOptions {
  /** Face detector: SSD MobileNet v1 (default) or the Tiny Face Detector. */
  detector?: DetectorKind;
  /** Use face-api's tiny 68-point landmark net instead of the full one. Default false. */
  tinyLandmarks?: boolean;
  /** onnxruntime threads inside one operator. Default 0: {@link resolveThreads} picks. */
  intraOpNumThreads?: number;
  /** Faces per landmark or descriptor inference. Default {@link MAX_BATCH}. */
  maxBatch?: number;
  /** The embedding network `embed` runs: face-api's descriptor (default) or MobileFaceNet. */
  embedNetwork?: EmbeddingNetwork;
  /** Which networks run int8 (vision.quantize): none (default), the second look's strips, those and photos, the detector, or the detector and MobileFaceNet. */
  quantize?: Quantize;
  /** The network of a video frame's whole-frame pass (vision.frameDetector, whose default is blazeface): the SSD when absent, or BlazeFace. SSD detector only. */
  frameDetector?: FrameDetector;
}

/** What finds the faces of a video frame's whole-frame pass: the SSD, or BlazeFace (the second look and photos stay the SSD's). */
export type FrameDetector = 'ssd' | 'blazeface';

/**
 * Thread settings for a 4-core Pi (and any small box): one frame in flight, its faces batched into
 * landmark and descriptor calls of a few faces (maxBatch), sequential execution (these graphs are chains, so
 * inter-op parallelism has nothing to overlap), intra-op threads from {@link resolveThreads}.
 * Pool threads spin between operators (SSD alone on an idle 2-core machine: 57 ms spinning, 81 ms
 * without) but stop when a run ends (session.force_spinning_stop): each of the three sessions has
 * its own pool, and threads left spinning after one network stole the cores from the next one and
 * from the TypeScript between them (measured under load: alignment 2× and descriptors 3× slower).
 */
const SESSION_DEFAULTS = {
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  interOpNumThreads: 1,
  logSeverityLevel: 3,
  enableCpuMemArena: true,
  // No memory pattern: onnxruntime plans one block per input shape, and the detector sees frames and
  // tiles of many sizes; the arena keeps every block at its peak. Measured (bench --memory, one
  // camera at 5 fps, interleaved with the pattern on): 42 MiB less RSS, SSD no slower (0.94–0.96×
  // the time, 3 frame sizes alternated). The arena stays: without it SSD took 1.25× as long.
  enableMemPattern: false,
  extra: { session: { force_spinning_stop: '1' } },
} as const;

/**
 * Options of single sessions. The int8 SSD of the mixed modes (vision.quantize second-look, photos-and-second-look) without an arena: its activations are
 * uint8, a quarter of the float bytes, and an arena of its own would keep a second detector's peak
 * for good beside the float one's. Measured (two cameras on the film scene, alternated): 25–30 MiB
 * more RSS with an arena, and no faster (Avengers scan's detector 1.54 against 1.57 s); without one
 * the daemon takes about 10 MiB less than with every pass float, the float arena no longer holding
 * a strip's activations.
 *
 * BlazeFace (vision.frameDetector) on one thread: its operators are too small to share (a 640×360
 * frame at 256×160, median of 40 runs: 3.9 ms on one thread, 4.7 ms on two), and the other core is
 * left to the main thread.
 */
const SESSION_OVERRIDES = { 'ssd-int8': { enableCpuMemArena: false }, blazeface: { intraOpNumThreads: 1 } } as const;

/**
 * Faces per landmark and embedding call. onnxruntime's arena keeps a session's largest activations
 * for good, and larger batches bought no speed: 16 faces of one frame (MobileFaceNet, two threads,
 * alternated in one run) took landmarks 11.2 / 10.9 / 11.2 ms and embeddings 27.9 / 26.3 / 30.8 ms
 * in batches of 4 / 8 / 16, while the batches added 9+13 / 13+35 / 26+74 MiB of RSS. A crowded
 * frame now costs about 22 MiB rather than 100.
 */
export const MAX_BATCH = 4;

/**
 * The most pixels of one pass of a second look taken whole (scan, eval --footage, REST photos; a
 * camera takes it a strip a frame) when its passes run on the int8 SSD, whose session keeps no arena:
 * 1024×1024, so that a frame of any usual aspect at tileZoom 2 is one pass rather than three strips.
 * Measured 2026-11-30 (2-core AMD EPYC, AVX2): an 854×480 frame's look as one 1024×576 pass 77 ms
 * against 98 ms for the three 427×576 strips (int8 SSD alone, medians of 18, alternated); `scan` of
 * the Avengers scene 7.15 → 7.55× real time (bench --scan, medians of 3 rounds, twice alternated);
 * the faces of 96 frames of five videos the strips' but for 4 and 3 of 301, all near the threshold.
 */
const WHOLE_LOOK_PIXELS = 1024 * 1024;

/**
 * What the input pool may hold: a few frames of two or three cameras (1280×720 is 2.7 MB) and the
 * face batches of their frames; a larger image (a photo) is copied into a buffer of its own.
 */
const POOL_BYTES = 12 * 1024 * 1024;
/** Inputs smaller than this (a single chip, the detector's layout) are not pooled: they die young on this thread. */
const POOL_MIN_BUFFER = 32 * 1024;

/**
 * Intra-op threads for `configured` (0 or absent: choose): every core up to two, then one core
 * fewer than the machine has (3 on a Pi 4). The spare core is for ffmpeg decoding the next frame,
 * sharp and the event loop: a pool thread descheduled by them stalls every parallel operator until
 * it runs again. On two cores a spare halves inference speed (SSD 120 ms on one thread, 57 ms on
 * two), which the other work does not need. Inference itself runs on a worker thread.
 */
export function resolveThreads(configured: number | undefined): number {
  if (configured && configured > 0) return configured;
  const cores = os.availableParallelism();
  return cores <= 2 ? cores : cores - 1;
}

/**
 * FaceBackend on onnxruntime-node, answering as face-api's tfjs backend does: the same
 * preprocessing, the same weights, the same box decoding and NMS. Graphs are compiled from
 * face-api's weight files on first start and cached (see model-cache.ts).
 */
export class OnnxFaceBackend implements FaceBackend {
  /** 'onnx', or 'onnx-int8…' when networks run quantised: caches keyed by the pipeline's revision tell them apart. */
  readonly name: string;
  readonly embedNetwork: EmbeddingNetwork;
  private readonly options: OnnxBackendOptions;
  /** Input buffers back from the worker, for the next inputs of their size. */
  private readonly pool = new BufferPool(POOL_BYTES, POOL_MIN_BUFFER, POOL_BYTES / 3);
  private readonly sessions = new WorkerSessions((buffer) => this.pool.give(buffer));
  private starting: Promise<void> | undefined;
  /** SSD's anchors per network input size (a camera has one or two sizes; a few are kept). */
  private readonly anchors = new Map<string, { center: WireTensor; size: WireTensor }>();
  /** Faces of a video frame or photo seen at its own aspect (SSD only; see FaceBackend.detectScaled). */
  readonly detectScaled?: (image: RgbImage, scale: number, options: DetectOptions, pass: DetectPass) => Promise<Detection[]>;
  readonly wholeLookPixels?: number;
  graphs?: string;

  constructor(options: OnnxBackendOptions = {}) {
    this.options = options;
    this.embedNetwork = options.embedNetwork ?? 'face-api-resnet34';
    this.name = {
      none: 'onnx',
      'second-look': 'onnx-int8-second-look',
      'photos-and-second-look': 'onnx-int8-photos-second-look',
      detector: 'onnx-int8',
      all: 'onnx-int8-all',
    }[options.quantize ?? 'none'];
    if ((options.detector ?? 'ssd') === 'ssd') {
      this.detectScaled = (image, scale, detectOptions, pass) => this.detectFrame(image, scale, detectOptions, pass);
    }
    if (this.mixedInt8) this.wholeLookPixels = WHOLE_LOOK_PIXELS;
  }

  private get detector(): DetectorKind {
    return this.options.detector ?? 'ssd';
  }

  get quantize(): Quantize {
    return this.options.quantize ?? 'none';
  }

  /** Some SSD passes run on the int8 SSD, in a session of their own beside the float one (vision.quantize second-look, photos-and-second-look). */
  private get mixedInt8(): boolean {
    return (this.quantize === 'second-look' || this.quantize === 'photos-and-second-look') && this.detector === 'ssd';
  }

  /** BlazeFace takes the whole-frame passes of video frames (vision.frameDetector blazeface, SSD detector). */
  private get blazeFrames(): boolean {
    return this.options.frameDetector === 'blazeface' && this.detector === 'ssd';
  }

  /** The session of an SSD pass: the int8 one for the passes the mixed modes quantise, the detector's own otherwise. */
  private ssdSession(pass: DetectPass): 'detect' | 'ssd-int8' {
    const int8 = pass === 'second-look' || (pass === 'photo' && this.quantize === 'photos-and-second-look');
    return this.mixedInt8 && int8 ? 'ssd-int8' : 'detect';
  }

  /**
   * Whether any pass runs on the `detect` session (see {@link ssdSession}). With the defaults none
   * does: BlazeFace takes a video frame's whole pass, the int8 SSD photos and the second look. The
   * float SSD is then not loaded: its session took 60 MB of RSS (22 MB of weights, and onnxruntime's
   * prepacked copies) and 0.23–0.4 s to open on a 2-core machine, for nothing.
   */
  private get detectUsed(): boolean {
    if (this.detector !== 'ssd') return true;
    return !this.blazeFrames || this.ssdSession('photo') === 'detect' || this.ssdSession('second-look') === 'detect';
  }

  private get tinySize(): number {
    return this.options.tinyInputSize ?? TINY_DEFAULT_INPUT_SIZE;
  }

  start(): Promise<void> {
    this.starting ??= (async () => {
      try {
        // One at a time: compiling is CPU-bound, and parallel first runs only contend.
        const models = {
          ...(this.detectUsed
            ? {
                detect: await faceModelPath(this.detector === 'ssd' ? 'ssd' : 'tiny-detector', {
                  ...this.options,
                  int8: this.quantize === 'detector' || this.quantize === 'all',
                }),
              }
            : {}),
          landmarks: await faceModelPath(this.options.tinyLandmarks ? 'landmarks-tiny' : 'landmarks', this.options),
          embed:
            this.embedNetwork === 'mobilefacenet'
              ? await mobileFaceNetModelPath({ cacheDir: this.options.cacheDir, int8: this.quantize === 'all' })
              : await faceModelPath('recognition', this.options),
          ...(this.mixedInt8 ? { 'ssd-int8': await faceModelPath('ssd', { ...this.options, int8: true }) } : {}),
          ...(this.blazeFrames ? { blazeface: await blazeFaceModelPath(this.options) } : {}),
        };
        await this.sessions.open(models, { ...SESSION_DEFAULTS, intraOpNumThreads: resolveThreads(this.options.intraOpNumThreads) }, SESSION_OVERRIDES);
        this.graphs = Object.values(models)
          .map((file) => path.basename(file, '.onnx'))
          .sort()
          .join('+');
      } catch (err) {
        await this.stop();
        throw new RecognizerError('VISION_MODELS_UNAVAILABLE', 'the ONNX face models could not be compiled or loaded', { cause: err });
      }
    })();
    return this.starting;
  }

  async stop(): Promise<void> {
    this.starting = undefined;
    await this.sessions.close();
  }

  /** Runs one network on `input` as its `image`, with `extra` feeds (copied, never transferred: the detector's anchors are kept). */
  private async run(
    kind: 'detect' | 'ssd-int8' | 'blazeface' | 'landmarks' | 'embed',
    input: WireTensor,
    extra: Record<string, WireTensor> = {},
    builtHere = input.type === 'float32',
  ): Promise<Record<string, WireTensor>> {
    if (!this.sessions.running) throw new RecognizerError('VISION_FAILED', 'OnnxFaceBackend used before start()');
    // Inputs built per call (float tensors, MobileFaceNet's batch of chips, in buffers of the pool) are
    // handed over; image bytes are the caller's, so copied into a buffer of the pool and handed over.
    // The worker gives both back with its answer (WorkerSessions' recycle), for the next input.
    let data = input.data;
    if (!builtHere) {
      data = new Uint8Array(this.pool.take(input.data.byteLength));
      data.set(new Uint8Array(input.data.buffer, input.data.byteOffset, input.data.byteLength));
    }
    try {
      return await this.sessions.run(kind, { image: { ...input, data }, ...extra }, [data.buffer as ArrayBuffer]);
    } catch (err) {
      throw new RecognizerError('VISION_FAILED', `onnx ${kind} failed`, { cause: err });
    }
  }

  /** The SSD graph's extra inputs for a network input of `netH`×`netW` after padding `image` to `padH`×`padW`. */
  private ssdFeeds(padH: number, padW: number, netH: number, netW: number): Record<string, WireTensor> {
    const key = `${netH}x${netW}`;
    let anchors = this.anchors.get(key);
    if (!anchors) {
      const { center, size } = anchorCentersAndSizes(ssdAnchors(netH, netW));
      const count = center.length / 2;
      anchors = { center: { type: 'float32', data: center, dims: [count, 2] }, size: { type: 'float32', data: size, dims: [count, 2] } };
      if (this.anchors.size >= 8) this.anchors.delete(this.anchors.keys().next().value!);
      this.anchors.set(key, anchors);
    }
    return {
      layout: { type: 'int64', data: BigInt64Array.from([padH, padW, netH, netW], BigInt), dims: [4] },
      anchor_center: anchors.center,
      anchor_size: anchors.size,
    };
  }

  detect(image: RgbImage, options: DetectOptions): Promise<Detection[]> {
    return detectReduced(image, (input) => this.detectAtSize(input, options));
  }

  private async detectAtSize(image: RgbImage, options: DetectOptions): Promise<Detection[]> {
    // face-api's option classes turn 0 into their defaults; do the same so both backends agree.
    const minScore = options.minScore || 0.5;
    const maxFaces = options.maxFaces || 100;
    const size = this.detector === 'ssd' ? SSD_INPUT_SIZE : this.tinySize;
    // The decoded bytes go in as they are: the graph pads, resizes and converts them natively.
    const pixels: WireTensor = { type: 'uint8', data: image.data, dims: [1, image.height, image.width, 3] };
    if (this.detector === 'ssd') {
      // face-api's square: padded at the bottom or right to the long side, seen at 512×512; a photo's pass.
      const side = Math.max(image.width, image.height);
      const out = await this.run(this.ssdSession('photo'), pixels, this.ssdFeeds(side, side, size, size));
      return selectSsd(out['boxes']!.data as Float32Array, out['scores']!.data as Float32Array, image, size, minScore, maxFaces);
    }
    const out = await this.run('detect', pixels);
    const grid = out['grid']!.data as Float32Array;
    const cells = Math.round(Math.sqrt(grid.length / 5 / TINY_ANCHORS.length));
    const reshaped = reshapedDims(image.width, image.height, size);
    const longSide = Math.max(reshaped.width, reshaped.height);
    const candidates = decodeTiny(grid, 0, cells, minScore, longSide / reshaped.width, longSide / reshaped.height);
    return selectTiny(candidates, image, size)
      .sort((a, b) => b.score - a.score)
      .slice(0, maxFaces);
  }

  /**
   * SSD on `image` at its own aspect, `scale` times its size (rounded to whole pixels), without
   * face-api's square: a 640×360 frame at 0.8 is 512×288, 44% fewer pixels than the letterboxed
   * square, with the faces at the same size in the network's eyes.
   */
  private async detectFrame(image: RgbImage, scale: number, options: DetectOptions, pass: DetectPass): Promise<Detection[]> {
    const minScore = options.minScore || 0.5;
    const maxFaces = options.maxFaces || 100;
    if (pass === 'frame' && this.blazeFrames) return this.detectBlazeFace(image, minScore, maxFaces);
    // Shrunk for memory, but not below what the network sees: a 1280×720 frame's second look in one
    // pass (1024×576) from its own pixels, not from 640×360 enlarged.
    const reduced = reduceForDetector(image, DETECTOR_MAX_SIDE, Math.max(image.width, image.height) * scale);
    const input = reduced.image;
    const k = reduced.scale;
    const netH = Math.max(1, Math.round(input.height * scale * k));
    const netW = Math.max(1, Math.round(input.width * scale * k));
    const pixels: WireTensor = { type: 'uint8', data: input.data, dims: [1, input.height, input.width, 3] };
    const out = await this.run(this.ssdSession(pass), pixels, this.ssdFeeds(input.height, input.width, netH, netW));
    const found = selectSsdFrame(out['boxes']!.data as Float32Array, out['scores']!.data as Float32Array, input, minScore, maxFaces);
    return k === 1 ? found : found.map((d) => ({ ...d, box: { x: d.box.x * k, y: d.box.y * k, width: d.box.width * k, height: d.box.height * k } }));
  }

  /**
   * BlazeFace on `image` at its own aspect, long side {@link BLAZEFACE_SIDE}, each side rounded up to
   * a multiple of 32 (the zeros below or right of the frame keep its grids whole): a 640×360 frame is
   * seen at 256×160. Its boxes come back in the SSD's shape (blazeface.ts).
   */
  private async detectBlazeFace(image: RgbImage, minScore: number, maxFaces: number): Promise<Detection[]> {
    const k = BLAZEFACE_SIDE / Math.max(image.width, image.height);
    const netW = Math.ceil((image.width * k) / 32) * 32;
    const netH = Math.ceil((image.height * k) / 32) * 32;
    const layout = { padH: Math.max(image.height, Math.round(netH / k)), padW: Math.max(image.width, Math.round(netW / k)), netH, netW };
    const pixels: WireTensor = { type: 'uint8', data: image.data, dims: [1, image.height, image.width, 3] };
    const out = await this.run('blazeface', pixels, {
      layout: { type: 'int64', data: BigInt64Array.from([layout.padH, layout.padW, netH, netW], BigInt), dims: [4] },
    });
    const grid = (stride: number) => ({ scores: out[`scores_${stride}`]!.data as Float32Array, boxes: out[`boxes_${stride}`]!.data as Float32Array });
    return selectBlazeFace([grid(16), grid(32)], layout, image, minScore, maxFaces);
  }

  async landmarks(image: RgbImage, boxes: Box[]): Promise<Point[][]> {
    const size = LANDMARK_INPUT_SIZE;
    const regions = boxes.map((b) => clipRegion(b, image.width, image.height));
    const valid = regions.map((r, i) => ({ r, i })).filter(({ r }) => r.width > 0 && r.height > 0);
    const result: Point[][] = boxes.map(() => []);
    for (const chunk of chunks(valid, this.options.maxBatch ?? MAX_BATCH)) {
      const input = new Float32Array(this.pool.take(chunk.length * size * size * 3 * 4));
      chunk.forEach(({ r }, k) => writeSquare(image, r, size, true, input, k * size * size * 3));
      const out = await this.run('landmarks', { type: 'float32', data: input, dims: [chunk.length, size, size, 3] });
      const raw = out['landmarks']!.data as Float32Array;
      chunk.forEach(({ r, i }, k) => {
        result[i] = toImagePoints(raw.subarray(k * 136, k * 136 + 136), r, size);
      });
    }
    return result;
  }

  async embed(chips: RgbImage[]): Promise<Float32Array[]> {
    if (this.embedNetwork === 'mobilefacenet') return this.embedMobileFaceNet(chips);
    const size = RECOGNITION_INPUT_SIZE;
    // face-api answers an empty chip with a zero descriptor instead of failing; so do we.
    const result = chips.map(() => new Float32Array(EMBEDDING_SIZE));
    const usable = chips.map((chip, i) => ({ chip, i })).filter(({ chip }) => chip.width > 0 && chip.height > 0);
    for (const chunk of chunks(usable, this.options.maxBatch ?? MAX_BATCH)) {
      const input = new Float32Array(this.pool.take(chunk.length * size * size * 3 * 4));
      // Chips of another size than CHIP_SIZE are padded and resized, as face-api does.
      chunk.forEach(({ chip }, k) => writeSquare(chip, { x: 0, y: 0, width: chip.width, height: chip.height }, size, true, input, k * size * size * 3));
      const out = await this.run('embed', { type: 'float32', data: input, dims: [chunk.length, size, size, 3] });
      const raw = out['descriptor']!.data as Float32Array;
      chunk.forEach(({ i }, k) => {
        result[i] = raw.slice(k * EMBEDDING_SIZE, (k + 1) * EMBEDDING_SIZE);
      });
    }
    return result;
  }

  /** MobileFaceNet on 112×112 ArcFace chips: the bytes go in as they are, normalised in the graph. */
  private async embedMobileFaceNet(chips: RgbImage[]): Promise<Float32Array[]> {
    const { inputSize: size, embeddingSize } = MOBILEFACENET;
    const result: Float32Array[] = [];
    for (const chunk of chunks(chips, this.options.maxBatch ?? MAX_BATCH)) {
      const input = new Uint8Array(this.pool.take(chunk.length * size * size * 3));
      chunk.forEach((chip, k) => input.set(exactChip(chip, size), k * size * size * 3));
      const out = await this.run('embed', { type: 'uint8', data: input, dims: [chunk.length, size, size, 3] }, {}, true);
      const raw = out[MOBILEFACENET.outputName]!.data as Float32Array;
      chunk.forEach((_, k) => result.push(raw.slice(k * embeddingSize, (k + 1) * embeddingSize)));
    }
    return result;
  }
}

/** A chip's bytes, which must be `size`×`size`: MobileFaceNet's graph takes exactly 112×112. */
function exactChip(chip: RgbImage, size: number): Uint8Array {
  if (chip.width === size && chip.height === size) return chip.data;
  throw new RecognizerError('VISION_FAILED', `MobileFaceNet takes ${size}×${size} chips, got ${chip.width}×${chip.height}`);
}

/**
 * FaceLandmark68NetBase.postProcess and FaceLandmarks: undo the centered square padding of the
 * crop, scale to the crop's pixels, and shift by the crop's origin (as the tfjs backend does).
 */
function toImagePoints(raw: Float32Array, crop: Region, inputSize: number): Point[] {
  const scale = inputSize / Math.max(crop.width, crop.height);
  const w = crop.width * scale;
  const h = crop.height * scale;
  const padX = w < h ? Math.abs(w - h) / 2 : 0;
  const padY = h < w ? Math.abs(w - h) / 2 : 0;
  const points: Point[] = [];
  for (let i = 0; i < 68; i++) {
    const x = (raw[i * 2]! * inputSize - padX) / w;
    const y = (raw[i * 2 + 1]! * inputSize - padY) / h;
    points.push({ x: x * crop.width + crop.x, y: y * crop.height + crop.y });
  }
  return points;
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += Math.max(1, size)) out.push(items.slice(i, i + Math.max(1, size)));
  return out;
}
