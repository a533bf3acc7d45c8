// The TFLite reader and compiler without a reference: what they read, what they refuse, and that PReLU fusion changes nothing.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { compileTflite, unsupportedOperators } from '../src/onnx/tflite/compile.js';
import { TfliteEmitter } from '../src/onnx/tflite/emitter.js';
import { fusePrelu } from '../src/onnx/tflite/fuse-prelu.js';
import { readTflite, type TfliteModel } from '../src/onnx/tflite/reader.js';
import { GraphBuilder } from '../src/onnx/writer.js';
import { mobileFaceNetTflitePath } from '../src/vision/onnx/mobilefacenet.js';
import { buildTflite, OPTIONS } from './helpers/tflite-builder.js';

const asset = async (name: string): Promise<TfliteModel> =>
  readTflite(new Uint8Array(await readFile(path.join(path.dirname(mobileFaceNetTflitePath()), `${name}.tflite`))));

t.test('reads MobileFaceNet: its inputs, outputs, operators and weights', async (t) => {
  const m = await asset('MobileFaceNet');
  const input = m.tensors[m.inputs[0]!]!;
  const output = m.tensors[m.outputs[0]!]!;
  t.same([input.name, input.type, input.shape], ['input', 'float32', [2, 112, 112, 3]]);
  t.same([output.name, output.type, output.shape], ['embeddings', 'float32', [2, 192]]);
  const count = (op: string) => m.operators.filter((o) => o.op === op).length;
  t.same([count('CONV_2D'), count('DEPTHWISE_CONV_2D'), count('RELU'), count('RESHAPE')], [35, 17, 33, 1]);
  const weights = m.operators.filter((o) => o.op === 'CONV_2D').reduce((n, o) => n + m.tensors[o.inputs[1]!]!.data!.length, 0);
  t.ok(weights > 4_000_000, `the convolutions' weights are inside the file (${weights} bytes)`);
  t.same(unsupportedOperators(m), []);
});

t.test('refuses what it cannot compile, naming it', async (t) => {
  t.throws(() => readTflite(new Uint8Array(64)), /not a TensorFlow Lite model/);
  const m = await asset('rnet');
  const options = m.operators[0]!.options;
  const strange: TfliteModel = {
    ...m,
    operators: [
      ...m.operators,
      { op: 'SVDF', version: 1, inputs: [], outputs: [], options },
      { op: 'CUSTOM:TFLite_Detection_PostProcess', version: 1, inputs: [], outputs: [], options },
    ],
  };
  t.throws(() => compileTflite(strange, 'x'), /unsupported TensorFlow Lite operator\(s\): SVDF, CUSTOM:TFLite_Detection_PostProcess/);
  t.throws(() => compileTflite({ ...m, subgraphs: 2 }, 'x'), /2 subgraphs/);
  // A fused TANH, which TFLite's float kernels do not apply the same way everywhere.
  const tanh = buildTflite({
    tensors: [
      { name: 'x', shape: [1, 4, 4, 2] },
      { name: 'w', shape: [2, 1, 1, 2], data: Float32Array.of(1, 0, 0, 1) },
      { name: 'y', shape: [1, 4, 4, 2] },
    ],
    inputs: [0],
    outputs: [2],
    operators: [
      {
        op: 'CONV_2D',
        inputs: [0, 1, -1],
        outputs: [2],
        options: {
          type: OPTIONS.Conv2D,
          fields: [
            [0, 'byte', 1],
            [1, 'int', 1],
            [2, 'int', 1],
            [3, 'byte', 4],
          ],
        },
      },
    ],
  });
  t.throws(() => compileTflite(readTflite(tanh), 'x'), /CONV_2D -> y: fused activation TANH is not supported/);
});

t.test('PReLU written out is fused in both spellings, without changing a bit of the output', async (t) => {
  for (const [name, operators, prelus] of [
    ['MobileFaceNet', 230, 33],
    ['rnet', 37, 4],
    ['onet', 46, 5],
  ] as const) {
    const m = await asset(name);
    t.equal(m.operators.length, operators, `${name}: ${operators} operators in the file`);
    const fused = fusePrelu(new TfliteEmitter(new GraphBuilder('x'), m), m.operators);
    t.equal(fused.filter((o) => o.op === 'PRELU').length, prelus, `${name}: ${prelus} PReLUs found`);
  }
  const m = await asset('MobileFaceNet');
  const input = new ort.Tensor(
    'float32',
    Float32Array.from({ length: 4 * 112 * 112 * 3 }, (_, i) => Math.sin(i * 0.37)),
    [4, 112, 112, 3],
  );
  const outputs: Float32Array[] = [];
  for (const fuse of [true, false]) {
    const s = await ort.InferenceSession.create(compileTflite(m, 'x', { fusePrelu: fuse }).toModel(), { intraOpNumThreads: 2 });
    outputs.push((await s.run({ input }))['embeddings']!.data as Float32Array);
    await s.release();
  }
  let worst = 0;
  for (let i = 0; i < outputs[0]!.length; i++) worst = Math.max(worst, Math.abs(outputs[0]![i]! - outputs[1]![i]!));
  t.ok(worst <= 1e-6, `fused against written out: max |difference| ${worst.toExponential(2)}`);
});
