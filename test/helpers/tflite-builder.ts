// Writes small .tflite files with flatbuffers' Builder, for operator variants that no shipped model has.
import { Builder } from 'flatbuffers';
import { BUILTIN_OPERATORS } from '../../src/onnx/tflite/reader.js';

/** TensorType enum values of schema.fbs. */
const TYPES = { float32: 0, float16: 1, int32: 2, uint8: 3, int64: 4, int8: 9 } as const;

/** BuiltinOptions union members, by their position in schema.fbs's union. */
export const OPTIONS = {
  Conv2D: 1,
  DepthwiseConv2D: 2,
  Pool2D: 5,
  FullyConnected: 8,
  Add: 11,
  Reshape: 17,
  Mul: 21,
  StridedSlice: 32,
  Dequantize: 38,
} as const;

export interface TinyTensor {
  name: string;
  shape: number[];
  type?: keyof typeof TYPES;
  /** Constant contents, little-endian. */
  data?: Float32Array | Int8Array | Uint8Array | Int32Array | Uint16Array;
  quantization?: { scale: number[]; zeroPoint: number[]; axis: number };
}

/** One options field: its number in the table, its type, its value. */
export type Field = [number, 'byte' | 'int' | 'float', number];

export interface TinyOperator {
  op: string;
  inputs: number[];
  outputs: number[];
  options?: { type: number; fields: Field[] };
}

export interface TinyModel {
  tensors: TinyTensor[];
  inputs: number[];
  outputs: number[];
  operators: TinyOperator[];
}

/** The .tflite bytes of `model`: one subgraph, buffer 0 empty as the schema requires. */
export function buildTflite(model: TinyModel): Uint8Array {
  const b = new Builder(1 << 16);
  b.forceDefaults(true);
  const ints = (values: number[]) => {
    b.startVector(4, values.length, 4);
    for (const v of [...values].reverse()) b.addInt32(v);
    return b.endVector();
  };
  const tables = (offsets: number[]) => {
    b.startVector(4, offsets.length, 4);
    for (const o of [...offsets].reverse()) b.addOffset(o);
    return b.endVector();
  };
  const table = (fields: Field[], offsets: [number, number][] = []) => {
    b.startObject(Math.max(0, ...fields.map((f) => f[0] + 1), ...offsets.map((f) => f[0] + 1)));
    for (const [slot, kind, value] of fields) {
      if (kind === 'byte') b.addFieldInt8(slot, value, null);
      else if (kind === 'int') b.addFieldInt32(slot, value, null);
      else b.addFieldFloat32(slot, value, null);
    }
    for (const [slot, offset] of offsets) b.addFieldOffset(slot, offset, 0);
    return b.endObject();
  };

  const buffers = [table([])];
  const tensors = model.tensors.map((t) => {
    let buffer = 0;
    if (t.data) {
      const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      b.startVector(1, bytes.length, 16);
      for (let i = bytes.length - 1; i >= 0; i--) b.addInt8(bytes[i]!);
      buffers.push(table([], [[0, b.endVector()]]));
      buffer = buffers.length - 1;
    }
    const offsets: [number, number][] = [
      [0, ints(t.shape)],
      [3, b.createString(t.name)],
    ];
    if (t.quantization) {
      const q = t.quantization;
      b.startVector(4, q.scale.length, 4);
      for (const v of [...q.scale].reverse()) b.addFloat32(v);
      const scale = b.endVector();
      b.startVector(8, q.zeroPoint.length, 8);
      for (const v of [...q.zeroPoint].reverse()) b.addInt64(BigInt(v));
      const zero = b.endVector();
      offsets.push([
        4,
        table(
          [[6, 'int', q.axis]],
          [
            [2, scale],
            [3, zero],
          ],
        ),
      ]);
    }
    return table(
      [
        [1, 'byte', TYPES[t.type ?? 'float32']],
        [2, 'int', buffer],
      ],
      offsets,
    );
  });

  const names = [...new Set(model.operators.map((o) => o.op))];
  const codes = names.map((name) => {
    const code = BUILTIN_OPERATORS.indexOf(name);
    if (code < 0) throw new Error(`unknown operator ${name}`);
    return table([
      [0, 'byte', code],
      [2, 'int', 1],
      [3, 'int', code],
    ]);
  });
  const operators = model.operators.map((o) => {
    const offsets: [number, number][] = [
      [1, ints(o.inputs)],
      [2, ints(o.outputs)],
    ];
    const fields: Field[] = [[0, 'int', names.indexOf(o.op)]];
    if (o.options) {
      offsets.push([4, table(o.options.fields)]);
      fields.push([3, 'byte', o.options.type]);
    }
    return table(fields, offsets);
  });
  const subgraph = table(
    [],
    [
      [0, tables(tensors)],
      [1, ints(model.inputs)],
      [2, ints(model.outputs)],
      [3, tables(operators)],
    ],
  );
  const root = table(
    [[0, 'int', 3]],
    [
      [1, tables(codes)],
      [2, tables([subgraph])],
      [4, tables(buffers)],
    ],
  );
  b.finish(root, 'TFL3');
  return b.asUint8Array();
}
