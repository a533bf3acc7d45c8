// A trained head like the original model's: dense layers, ReLU, dropout, softmax, on TensorFlow.js.
import { loadFaceApi } from '../vision/face-api.js';
import { GraphBuilder } from '../onnx/writer.js';
import { HEAD_INPUT, HEAD_OUTPUT } from '../recognize/ncm-head.js';
import { unit } from '../util/vectors.js';

export interface MlpOptions {
  hidden: number;
  dropout: number;
  epochs: number;
  learningRate: number;
  batchSize: number;
  seed: number;
}

export const MLP_DEFAULTS: MlpOptions = { hidden: 256, dropout: 0.3, epochs: 80, learningRate: 0.003, batchSize: 32, seed: 1 };

/** Accuracy and loss per epoch, on the training and the validation samples. */
export interface History {
  accuracy: number[];
  loss: number[];
  valAccuracy: number[];
  valLoss: number[];
}

export interface Samples {
  x: Float32Array[];
  /** Class index per sample. */
  y: number[];
}

/** Dense weights of the trained head: kernels are [in, out], row-major. */
export interface MlpWeights {
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
  inputSize: number;
  hidden: number;
  classes: number;
}

/**
 * Trains the head on unit-length embeddings (the ONNX graph normalises its input the same way) and
 * returns its weights and per-epoch history. Every tensor is disposed before it returns.
 */
export async function trainMlp(
  train: Samples,
  val: Samples,
  classes: number,
  options: MlpOptions,
  probe: Float32Array[] = [],
): Promise<{ weights: MlpWeights; history: History; probed: Float32Array[] }> {
  const { tf } = await loadFaceApi();
  // face-api's typings omit the layers API that its bundled TensorFlow.js carries.
  const tfl = tf as unknown as typeof import('@tensorflow/tfjs');
  const size = train.x[0]!.length;
  const toX = (s: Samples) =>
    tfl.tensor2d(
      s.x.flatMap((v) => Array.from(unit(v))),
      [s.x.length, size],
    );
  const toY = (s: Samples) => tfl.oneHot(tfl.tensor1d(s.y, 'int32'), classes).toFloat();
  const [xs, ys, vx, vy] = [toX(train), toY(train), toX(val), toY(val)];
  const model = tfl.sequential();
  model.add(
    tfl.layers.dense({
      inputShape: [size],
      units: options.hidden,
      activation: 'relu',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: options.seed }),
    }),
  );
  if (options.dropout > 0) model.add(tfl.layers.dropout({ rate: options.dropout, seed: options.seed }));
  model.add(tfl.layers.dense({ units: classes, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: options.seed + 1 }) }));
  model.compile({ optimizer: tfl.train.adam(options.learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const history: History = { accuracy: [], loss: [], valAccuracy: [], valLoss: [] };
  try {
    const fit = await model.fit(xs, ys, {
      epochs: options.epochs,
      batchSize: options.batchSize,
      shuffle: true,
      validationData: val.x.length ? [vx, vy] : undefined,
      verbose: 0,
    });
    const h = fit.history as Record<string, number[]>;
    history.accuracy = h.acc ?? h.accuracy ?? [];
    history.loss = h.loss ?? [];
    history.valAccuracy = h.val_acc ?? h.val_accuracy ?? [];
    history.valLoss = h.val_loss ?? [];
    const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
    const [k1, c1] = dense[0]!.getWeights();
    const [k2, c2] = dense[1]!.getWeights();
    const weights: MlpWeights = {
      w1: (await k1!.data()) as Float32Array,
      b1: (await c1!.data()) as Float32Array,
      w2: (await k2!.data()) as Float32Array,
      b2: (await c2!.data()) as Float32Array,
      inputSize: size,
      hidden: options.hidden,
      classes,
    };
    // The in-memory model's own answers on the probe samples, for the export's parity check.
    const probed: Float32Array[] = [];
    if (probe.length) {
      const px = tfl.tensor2d(
        probe.flatMap((v) => Array.from(unit(v))),
        [probe.length, size],
      );
      const out = model.predict(px) as import('@tensorflow/tfjs').Tensor;
      const data = (await out.data()) as Float32Array;
      tfl.dispose([px, out]);
      for (let i = 0; i < probe.length; i++) probed.push(data.slice(i * classes, (i + 1) * classes));
    }
    return { weights, history, probed };
  } finally {
    model.dispose();
    tfl.dispose([xs, ys, vx, vy]);
  }
}

/** The same head in plain TypeScript: what the ONNX graph must reproduce. */
export function mlpForward(weights: MlpWeights, embedding: Float32Array): Float32Array {
  const x = unit(embedding);
  const h = new Float32Array(weights.hidden);
  for (let j = 0; j < weights.hidden; j++) {
    let s = weights.b1[j]!;
    for (let i = 0; i < weights.inputSize; i++) s += x[i]! * weights.w1[i * weights.hidden + j]!;
    h[j] = Math.max(0, s);
  }
  const logits = new Float32Array(weights.classes);
  for (let k = 0; k < weights.classes; k++) {
    let s = weights.b2[k]!;
    for (let j = 0; j < weights.hidden; j++) s += h[j]! * weights.w2[j * weights.classes + k]!;
    logits[k] = s;
  }
  const max = Math.max(...logits);
  const exp = logits.map((v) => Math.exp(v - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((v) => v / sum);
}

/** The head as ONNX: LpNormalization, Gemm, Relu, Gemm, Softmax (dropout is the identity at inference). */
export function mlpHeadGraph(weights: MlpWeights): Uint8Array {
  const g = new GraphBuilder('mlp_head');
  g.input(HEAD_INPUT, 'float32', ['N', weights.inputSize]);
  g.initializer('dense1_kernel', weights.w1, [weights.inputSize, weights.hidden]);
  g.initializer('dense1_bias', weights.b1, [weights.hidden]);
  g.initializer('dense2_kernel', weights.w2, [weights.hidden, weights.classes]);
  g.initializer('dense2_bias', weights.b2, [weights.classes]);
  const x = g.op('LpNormalization', [HEAD_INPUT], { axis: 1, p: 2 });
  const h = g.op('Relu', [g.op('Gemm', [x, 'dense1_kernel', 'dense1_bias'])]);
  const logits = g.op('Gemm', [h, 'dense2_kernel', 'dense2_bias']);
  g.node('Softmax', [logits], [HEAD_OUTPUT], { axis: 1 });
  g.output(HEAD_OUTPUT, 'float32', ['N', weights.classes]);
  return g.toModel({ producer: 'actor-recognizer', docString: 'dense-ReLU-dropout-softmax head over face descriptors' });
}
