// Builds the configured inference backend and the face pipeline around it.
import type { Config } from '../config/schema.js';
import { FacePipeline } from './pipeline.js';
import { OnnxFaceBackend } from './onnx/onnx-backend.js';
import { TfjsFaceBackend } from './tfjs-backend.js';
import type { FaceBackend } from './types.js';

export async function createFacePipeline(vision: Config['vision']): Promise<FacePipeline> {
  const backend: FaceBackend =
    vision.backend === 'onnx'
      ? new OnnxFaceBackend({ detector: vision.detector, intraOpNumThreads: vision.threads })
      : new TfjsFaceBackend({ detector: vision.detector });
  await backend.start();
  return new FacePipeline(backend, { minScore: vision.minScore, maxFaces: vision.maxFaces });
}

/** Describes the embedding a pipeline produces, so a model trained on one is not fed another. */
export function extractorId(): string {
  return 'face-api-resnet34/dlib-chip150';
}
