// Builds the configured inference backend and the face pipeline around it.
import type { Config } from '../config/schema.js';
import { RecognizerError } from '../errors.js';
import { Embedder, embedderSpec, type EmbeddingNetwork } from './embedder.js';
import { FacePipeline } from './pipeline.js';
import { OnnxFaceBackend } from './onnx/onnx-backend.js';
import { TfjsFaceBackend } from './tfjs-backend.js';
import type { DetectOptions, FaceBackend } from './types.js';

/**
 * What vision.quantize makes of the onnx backend's networks: second-look runs the second look's
 * strips on the int8 SSD, photos-and-second-look those and every pass over a photo, int8 every
 * detector pass (the embedder stays float in all).
 */
export function onnxQuantize(vision: Pick<Config['vision'], 'quantize'>): 'detector' | 'photos-and-second-look' | 'second-look' | 'none' {
  return vision.quantize === 'int8' ? 'detector' : vision.quantize;
}

/** The detector's options of the configuration, as every pipeline of the daemon and the commands takes them. */
export function detectOptions(
  vision: Pick<Config['vision'], 'minScore' | 'maxFaces' | 'tileZoom' | 'detectorSide'>,
): Required<Omit<DetectOptions, 'part' | 'video'>> {
  return { minScore: vision.minScore, maxFaces: vision.maxFaces, tileZoom: vision.tileZoom, side: vision.detectorSide };
}

/** The configured backend, started, and the pipeline around it. */
export async function createFacePipeline(vision: Config['vision']): Promise<FacePipeline> {
  const spec = embedderSpec(vision.embedder);
  // face-api on TensorFlow.js is the reference for face-api's networks only.
  if (vision.backend === 'tfjs' && spec.network.id !== 'face-api-resnet34') {
    throw new RecognizerError(
      'CONFIG_INVALID',
      `vision.embedder ${spec.id} runs on vision.backend onnx only (the tfjs backend is face-api's reference); choose a face-api embedder for tfjs`,
    );
  }
  // second-look and photos-and-second-look (the default) have nothing to change on tfjs, which has no int8 detector and no strips.
  if (vision.backend === 'tfjs' && vision.quantize === 'int8') {
    throw new RecognizerError('CONFIG_INVALID', `vision.quantize ${vision.quantize} runs on vision.backend onnx only; set it to none for tfjs`);
  }
  const backend: FaceBackend =
    vision.backend === 'onnx'
      ? new OnnxFaceBackend({
          detector: vision.detector,
          intraOpNumThreads: vision.threads,
          embedNetwork: spec.network.id as EmbeddingNetwork,
          quantize: onnxQuantize(vision),
          frameDetector: vision.frameDetector,
        })
      : new TfjsFaceBackend({ detector: vision.detector });
  await backend.start();
  return new FacePipeline(backend, detectOptions(vision), new Embedder(spec, backend));
}
