// Compiles face-api's networks to ONNX on first use and caches the files, keyed by face-api's version.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { faceApiModelDir, faceApiVersion } from '../face-api.js';
import type { GraphBuilder } from '../../onnx/writer.js';
import { compileLandmarks } from './landmark-graph.js';
import { compileRecognition } from './recognition-graph.js';
import { compileSsd } from './ssd-graph.js';
import { compileTinyDetector } from './tiny-detector-graph.js';
import { loadGraphModel, loadWeights } from './weights.js';
import { BLAZEFACE_REVISION, blazeFaceModelFile, blazeFaceVersion, compileBlazeFace } from './blazeface-graph.js';
import { projectRoot } from '../../util/project-root.js';
import { loadQuantRanges, quantizedSsd } from './int8-models.js';

/** The networks this module compiles. */
export type FaceNet = 'ssd' | 'tiny-detector' | 'landmarks' | 'landmarks-tiny' | 'recognition';

/**
 * Bumped whenever the compiler emits a different graph for the same weights, so that caches written
 * by an older compiler are not reused.
 */
export const COMPILER_REVISION = 4;

export interface FaceModelOptions {
  /** Cache root. Default: `models/.face-onnx` in the project root. */
  cacheDir?: string;
  /** Where face-api's weight files are. Default: the installed package's `model/` folder. */
  weightsDir?: string;
  /** Input side of the Tiny Face Detector (multiple of 32). Default 416. */
  tinyInputSize?: number;
  /** The detector (SSD) quantised to int8 with models/quant/ssd.json (int8-models.ts). Default false. */
  int8?: boolean;
}

const WEIGHT_FILES: Record<FaceNet, string> = {
  ssd: 'ssd_mobilenetv1_model',
  'tiny-detector': 'tiny_face_detector_model',
  landmarks: 'face_landmark_68_model',
  'landmarks-tiny': 'face_landmark_68_tiny_model',
  recognition: 'face_recognition_model',
};

export function defaultCacheDir(): string {
  return path.join(projectRoot(), 'models', '.face-onnx');
}

async function compile(net: FaceNet, weightsDir: string, tinyInputSize: number): Promise<GraphBuilder> {
  const weights = await loadWeights(weightsDir, WEIGHT_FILES[net]);
  switch (net) {
    case 'ssd':
      return compileSsd(weights);
    case 'tiny-detector':
      return compileTinyDetector(weights, tinyInputSize);
    case 'landmarks':
      return compileLandmarks(weights, false);
    case 'landmarks-tiny':
      return compileLandmarks(weights, true);
    case 'recognition':
      return compileRecognition(weights);
  }
}

const inFlight = new Map<string, Promise<string>>();

/**
 * `file`, made by `build` first when it does not exist. Written to a temporary name and renamed, so
 * a crash mid-write never leaves a truncated model behind; concurrent callers in one process share
 * one build. Every compiled network of the project goes through here.
 */
export function cachedModelFile(file: string, build: () => Promise<Uint8Array>): Promise<string> {
  let pending = inFlight.get(file);
  if (!pending) {
    pending = (async () => {
      if (existsSync(file)) return file;
      const bytes = await build();
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, file);
      return file;
    })();
    inFlight.set(file, pending);
    pending.catch(() => inFlight.delete(file));
  }
  return pending;
}

/** Path of the ONNX file of `net`, compiling it first when the cache has none. */
export async function faceModelPath(net: FaceNet, options: FaceModelOptions = {}): Promise<string> {
  const tinyInputSize = options.tinyInputSize ?? 416;
  const version = faceApiVersion();
  const dir = path.join(options.cacheDir ?? defaultCacheDir(), `face-api-${version}-c${COMPILER_REVISION}`);
  const int8 = options.int8 && net === 'ssd' ? await loadQuantRanges('ssd') : undefined;
  const name = net === 'tiny-detector' ? `${net}-${tinyInputSize}` : int8 ? `${net}-int8-${int8.digest}` : net;
  const file = path.join(dir, `${name}.onnx`);
  return cachedModelFile(file, async () => {
    const float = await compile(net, options.weightsDir ?? faceApiModelDir(), tinyInputSize);
    const graph = int8 ? quantizedSsd(float, int8.ranges) : float;
    return graph.toModel({
      producer: 'actor-recognizer',
      docString: `face-api ${version} ${WEIGHT_FILES[net]}, compiled by actor-recognizer`,
      metadata: { source: `@vladmandic/face-api@${version}`, weights: WEIGHT_FILES[net], compiler: String(COMPILER_REVISION) },
    });
  });
}

/** The model bytes (compiled or cached). */
export async function faceModelBytes(net: FaceNet, options: FaceModelOptions = {}): Promise<Uint8Array> {
  return new Uint8Array(await readFile(await faceModelPath(net, options)));
}

/** Path of BlazeFace's ONNX file (blazeface-graph.ts), compiled from @vladmandic/human's copy first when the cache has none. */
export async function blazeFaceModelPath(options: Pick<FaceModelOptions, 'cacheDir'> = {}): Promise<string> {
  const version = blazeFaceVersion();
  const file = path.join(options.cacheDir ?? defaultCacheDir(), `human-${version}`, `blazeface-back-r${BLAZEFACE_REVISION}.onnx`);
  return cachedModelFile(file, async () =>
    compileBlazeFace(await loadGraphModel(blazeFaceModelFile())).toModel({
      producer: 'actor-recognizer',
      docString: `MediaPipe BlazeFace (back camera) from @vladmandic/human ${version}, compiled by actor-recognizer`,
      metadata: { source: `@vladmandic/human@${version}`, weights: 'models/blazeface.json', compiler: String(BLAZEFACE_REVISION) },
    }),
  );
}
