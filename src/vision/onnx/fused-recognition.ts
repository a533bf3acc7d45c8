// The descriptor network and an actor model's head as one ONNX graph: one call names a face.
import { faceApiModelDir } from '../face-api.js';
import { appendNcmHead } from '../../recognize/ncm-head.js';
import { EMBEDDING_SIZE } from '../types.js';
import { compileRecognition } from './recognition-graph.js';
import { loadWeights } from './weights.js';

/**
 * face-api's descriptor net followed by a cosine nearest-class-mean head over `means`: input
 * `image` float32 [N, 150, 150, 3] (aligned RGB chips, 0..255), outputs `descriptor` [N, 128] (for
 * tracking and enrollment) and `scores` [N, actors]. Recognising a batch of faces is then a single
 * onnxruntime call instead of two, with no copy of the descriptors between them.
 */
export async function fusedRecognitionGraph(means: Float32Array[], options: { weightsDir?: string } = {}): Promise<Uint8Array> {
  const weights = await loadWeights(options.weightsDir ?? faceApiModelDir(), 'face_recognition_model');
  const g = compileRecognition(weights);
  appendNcmHead(g, 'descriptor', means, EMBEDDING_SIZE);
  return g.toModel({ producer: 'actor-recognizer', docString: 'face descriptor and actor scores in one graph' });
}
