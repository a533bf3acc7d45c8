// The reference backend: face-api's networks on TensorFlow.js (WebAssembly), every tensor disposed.
import type { Box, Detection, DetectOptions, DetectorKind, FaceBackend, Point, RgbImage } from './types.js';
import { faceApiModelDir, loadFaceApi, type FaceApi } from './face-api.js';
import { detectReduced } from './detector-input.js';

export interface TfjsBackendOptions {
  detector: DetectorKind;
}

export class TfjsFaceBackend implements FaceBackend {
  readonly name = 'tfjs';
  private faceapi: FaceApi | undefined;
  private readonly options: TfjsBackendOptions;

  constructor(options: TfjsBackendOptions = { detector: 'ssd' }) {
    this.options = options;
  }

  async start(): Promise<void> {
    if (this.faceapi) return;
    const faceapi = await loadFaceApi();
    const dir = faceApiModelDir();
    const nets = faceapi.nets;
    const wanted = [this.options.detector === 'ssd' ? nets.ssdMobilenetv1 : nets.tinyFaceDetector, nets.faceLandmark68Net, nets.faceRecognitionNet];
    for (const net of wanted) if (!net.isLoaded) await net.loadFromDisk(dir);
    this.faceapi = faceapi;
  }

  async stop(): Promise<void> {
    // The networks are process-wide singletons inside face-api; other backends may share them.
    this.faceapi = undefined;
  }

  private api(): FaceApi {
    if (!this.faceapi) throw new Error('TfjsFaceBackend used before start()');
    return this.faceapi;
  }

  private toTensor(image: RgbImage) {
    return this.api().tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
  }

  detect(image: RgbImage, options: DetectOptions): Promise<Detection[]> {
    return detectReduced(image, (input) => this.detectAtSize(input, options));
  }

  private async detectAtSize(image: RgbImage, options: DetectOptions): Promise<Detection[]> {
    const faceapi = this.api();
    const input = this.toTensor(image);
    try {
      const netOptions =
        this.options.detector === 'ssd'
          ? new faceapi.SsdMobilenetv1Options({ minConfidence: options.minScore, maxResults: options.maxFaces })
          : new faceapi.TinyFaceDetectorOptions({ scoreThreshold: options.minScore, inputSize: 416 });
      const found = await faceapi.detectAllFaces(input, netOptions);
      return found
        .map((d) => ({ box: { x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height }, score: d.score }))
        .sort((a, b) => b.score - a.score)
        .slice(0, options.maxFaces);
    } finally {
      input.dispose();
    }
  }

  async landmarks(image: RgbImage, boxes: Box[]): Promise<Point[][]> {
    const faceapi = this.api();
    const tf = faceapi.tf;
    const result: Point[][] = [];
    const input = this.toTensor(image);
    try {
      for (const box of boxes) {
        // Crop as face-api's withFaceLandmarks does (clip to the image, floor), then shift the
        // landmarks back by the crop's own origin.
        const crop = new faceapi.Rect(box.x, box.y, box.width, box.height).clipAtImageBorders(image.width, image.height);
        if (crop.width <= 0 || crop.height <= 0) {
          result.push([]);
          continue;
        }
        const face = tf.slice3d(input, [crop.y, crop.x, 0], [crop.height, crop.width, 3]);
        try {
          const marks = (await faceapi.nets.faceLandmark68Net.detectLandmarks(face)) as InstanceType<FaceApi['FaceLandmarks68']>;
          result.push(marks.positions.map((p) => ({ x: p.x + crop.x, y: p.y + crop.y })));
        } finally {
          face.dispose();
        }
      }
    } finally {
      input.dispose();
    }
    return result;
  }

  async embed(chips: RgbImage[]): Promise<Float32Array[]> {
    const faceapi = this.api();
    const out: Float32Array[] = [];
    for (const chip of chips) {
      const input = this.toTensor(chip);
      try {
        out.push((await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(input)) as Float32Array);
      } finally {
        input.dispose();
      }
    }
    return out;
  }

  /** Live tensors in TensorFlow.js: tests use it to prove nothing leaks. */
  tensorCount(): number {
    return this.api().tf.memory().numTensors;
  }
}
