// The cosine nearest-class-mean head as an ONNX graph: normalise the embedding, dot with each mean.
import { GraphBuilder } from '../onnx/writer.js';
import { cosine, norm } from '../util/vectors.js';

export const HEAD_INPUT = 'embedding';
export const HEAD_OUTPUT = 'scores';

/** Unit-length mean of each class's unit-length embeddings. */
export function classMeans(embeddingsByClass: Float32Array[][], size: number): Float32Array[] {
  return embeddingsByClass.map((list) => {
    const mean = new Float32Array(size);
    for (const e of list) {
      const n = norm(e);
      for (let i = 0; i < size; i++) mean[i]! += e[i]! / n;
    }
    const n = norm(mean);
    for (let i = 0; i < size; i++) mean[i]! /= n;
    return mean;
  });
}

export { cosine, norm };

/**
 * The head: `scores[n][k] = cos(embedding[n], mean[k])`. LpNormalization then one MatMul against the
 * transposed means, so it runs as one small onnxruntime call for a whole batch of faces.
 */
export function ncmHeadGraph(means: Float32Array[], size: number): Uint8Array {
  const g = new GraphBuilder('ncm_cosine_head');
  g.input(HEAD_INPUT, 'float32', ['N', size]);
  appendNcmHead(g, HEAD_INPUT, means, size);
  return g.toModel({ producer: 'actor-recognizer', docString: 'cosine nearest-class-mean head over face descriptors' });
}

/** Appends the head to a graph that computes `input` [N, size]; its output is HEAD_OUTPUT. */
export function appendNcmHead(g: GraphBuilder, input: string, means: Float32Array[], size: number): void {
  const k = means.length;
  const weights = new Float32Array(size * k);
  means.forEach((mean, c) => {
    for (let i = 0; i < size; i++) weights[i * k + c] = mean[i]!;
  });
  g.initializer('class_means_t', weights, [size, k]);
  const unit = g.op('LpNormalization', [input], { axis: 1, p: 2 });
  g.node('MatMul', [unit, 'class_means_t'], [HEAD_OUTPUT]);
  g.output(HEAD_OUTPUT, 'float32', ['N', k]);
}
