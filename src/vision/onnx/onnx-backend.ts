// The fast backend: face-api's networks compiled to ONNX and run by onnxruntime-node.
import * as ort from 'onnxruntime-node';
import { RecognizerError } from '../../errors.js';
import type { Box, Detection, DetectOptions, DetectorKind, FaceBackend, Point, RgbImage } from '../types.js';
import { EMBEDDING_SIZE } from '../types.js';
import { reshapedDims, selectSsd, selectTiny } from './detections.js';
import { LANDMARK_INPUT_SIZE } from './landmark-graph.js';
import { faceModelPath, type FaceModelOptions, type FaceNet } from './model-cache.js';
import { clipRegion, writeSquare, type Region } from './preprocess.js';
import { RECOGNITION_INPUT_SIZE } from './recognition-graph.js';
import { SSD_INPUT_SIZE } from './ssd-graph.js';
import { decodeTiny, TINY_ANCHORS, TINY_DEFAULT_INPUT_SIZE } from './tiny-detector-graph.js';

export interface OnnxBackendOptions extends FaceModelOptions {
  /** Face detector: SSD MobileNet v1 (default) or the Tiny Face Detector. */
  detector?: DetectorKind;
  /** Use face-api's tiny 68-point landmark net instead of the full one. Default false. */
  tinyLandmarks?: boolean;
  /** onnxruntime threads inside one operator. Default 0: onnxruntime picks (one per core). */
  intraOpNumThreads?: number;
  /** Faces per landmark or descriptor inference; larger batches trade memory for throughput. Default 16. */
  maxBatch?: number;
}

const SESSION_DEFAULTS = { graphOptimizationLevel: 'all', executionMode: 'sequential', interOpNumThreads: 1, logSeverityLevel: 3 } as const;

/**
 * FaceBackend on onnxruntime-node, answering as face-api's tfjs backend does: the same
 * preprocessing, the same weights, the same box decoding and NMS. Graphs are compiled from
 * face-api's weight files on first start and cached (see model-cache.ts).
 */
export class OnnxFaceBackend implements FaceBackend {
  readonly name = 'onnx';
  private readonly options: OnnxBackendOptions;
  private sessions: Partial<Record<'detect' | 'landmarks' | 'embed', ort.InferenceSession>> = {};
  private starting: Promise<void> | undefined;

  constructor(options: OnnxBackendOptions = {}) {
    this.options = options;
  }

  private get detector(): DetectorKind {
    return this.options.detector ?? 'ssd';
  }

  private get tinySize(): number {
    return this.options.tinyInputSize ?? TINY_DEFAULT_INPUT_SIZE;
  }

  start(): Promise<void> {
    this.starting ??= (async () => {
      const open = async (net: FaceNet): Promise<ort.InferenceSession> => {
        const file = await faceModelPath(net, this.options);
        return ort.InferenceSession.create(file, { ...SESSION_DEFAULTS, intraOpNumThreads: this.options.intraOpNumThreads ?? 0 });
      };
      try {
        // One at a time: compiling is CPU-bound, and parallel first runs only contend.
        this.sessions.detect = await open(this.detector === 'ssd' ? 'ssd' : 'tiny-detector');
        this.sessions.landmarks = await open(this.options.tinyLandmarks ? 'landmarks-tiny' : 'landmarks');
        this.sessions.embed = await open('recognition');
      } catch (err) {
        await this.stop();
        throw new RecognizerError('MODEL_INVALID', 'the ONNX face models could not be compiled or loaded', { cause: err });
      }
    })();
    return this.starting;
  }

  async stop(): Promise<void> {
    const sessions = Object.values(this.sessions);
    this.sessions = {};
    this.starting = undefined;
    await Promise.all(sessions.map((s) => s.release()));
  }

  private session(kind: 'detect' | 'landmarks' | 'embed'): ort.InferenceSession {
    const s = this.sessions[kind];
    if (!s) throw new RecognizerError('VISION_FAILED', 'OnnxFaceBackend used before start()');
    return s;
  }

  async detect(image: RgbImage, options: DetectOptions): Promise<Detection[]> {
    // face-api's option classes turn 0 into their defaults; do the same so both backends agree.
    const minScore = options.minScore || 0.5;
    const maxFaces = options.maxFaces || 100;
    const whole: Region = { x: 0, y: 0, width: image.width, height: image.height };
    const size = this.detector === 'ssd' ? SSD_INPUT_SIZE : this.tinySize;
    const input = new Float32Array(size * size * 3);
    writeSquare(image, whole, size, false, input, 0);
    const out = await this.session('detect').run({ image: new ort.Tensor('float32', input, [1, size, size, 3]) });
    if (this.detector === 'ssd') {
      return selectSsd(out['boxes']!.data as Float32Array, out['scores']!.data as Float32Array, image, size, minScore, maxFaces);
    }
    const grid = out['grid']!.data as Float32Array;
    const cells = Math.round(Math.sqrt(grid.length / 5 / TINY_ANCHORS.length));
    const reshaped = reshapedDims(image.width, image.height, size);
    const longSide = Math.max(reshaped.width, reshaped.height);
    const candidates = decodeTiny(grid, 0, cells, minScore, longSide / reshaped.width, longSide / reshaped.height);
    return selectTiny(candidates, image, size).sort((a, b) => b.score - a.score).slice(0, maxFaces);
  }

  async landmarks(image: RgbImage, boxes: Box[]): Promise<Point[][]> {
    const size = LANDMARK_INPUT_SIZE;
    const regions = boxes.map((b) => clipRegion(b, image.width, image.height));
    const valid = regions.map((r, i) => ({ r, i })).filter(({ r }) => r.width > 0 && r.height > 0);
    const result: Point[][] = boxes.map(() => []);
    for (const chunk of chunks(valid, this.options.maxBatch ?? 16)) {
      const input = new Float32Array(chunk.length * size * size * 3);
      chunk.forEach(({ r }, k) => writeSquare(image, r, size, true, input, k * size * size * 3));
      const out = await this.session('landmarks').run({ image: new ort.Tensor('float32', input, [chunk.length, size, size, 3]) });
      const raw = out['landmarks']!.data as Float32Array;
      chunk.forEach(({ r, i }, k) => { result[i] = toImagePoints(raw.subarray(k * 136, k * 136 + 136), r, size); });
    }
    return result;
  }

  async embed(chips: RgbImage[]): Promise<Float32Array[]> {
    const size = RECOGNITION_INPUT_SIZE;
    // face-api answers an empty chip with a zero descriptor instead of failing; so do we.
    const result = chips.map(() => new Float32Array(EMBEDDING_SIZE));
    const usable = chips.map((chip, i) => ({ chip, i })).filter(({ chip }) => chip.width > 0 && chip.height > 0);
    for (const chunk of chunks(usable, this.options.maxBatch ?? 16)) {
      const input = new Float32Array(chunk.length * size * size * 3);
      // Chips of another size than CHIP_SIZE are padded and resized, as face-api does.
      chunk.forEach(({ chip }, k) => writeSquare(chip, { x: 0, y: 0, width: chip.width, height: chip.height }, size, true, input, k * size * size * 3));
      const out = await this.session('embed').run({ image: new ort.Tensor('float32', input, [chunk.length, size, size, 3]) });
      const raw = out['descriptor']!.data as Float32Array;
      chunk.forEach(({ i }, k) => { result[i] = raw.slice(k * EMBEDDING_SIZE, (k + 1) * EMBEDDING_SIZE); });
    }
    return result;
  }
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
