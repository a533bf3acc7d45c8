// Reads a TensorFlow Lite flatbuffer (schema.fbs, "TFL3") into plain objects: the few tables a compiler needs.
import { ByteBuffer } from 'flatbuffers';

/**
 * Field numbers below are the declaration order of each table in TFLite's schema.fbs
 * (tensorflow/compiler/mlir/lite/schema/schema.fbs); a union takes two numbers, its type then its
 * value. Read by hand rather than through flatc's generated code: a dozen accessors instead of
 * 10,000 generated lines, and the schema only ever appends fields, so these numbers do not move.
 */

/** TensorType, by its enum value. */
const TENSOR_TYPES = ['float32', 'float16', 'int32', 'uint8', 'int64', 'string', 'bool', 'int16', 'complex64', 'int8', 'float64'] as const;
export type TfliteType = (typeof TENSOR_TYPES)[number] | `type ${number}`;

export interface TfliteQuantization {
  readonly scale: readonly number[];
  readonly zeroPoint: readonly bigint[];
  readonly axis: number;
}

export interface TfliteTensor {
  readonly index: number;
  readonly name: string;
  readonly type: TfliteType;
  readonly shape: readonly number[];
  /** `shape` with -1 where a dimension is dynamic, when the converter recorded it. */
  readonly shapeSignature: readonly number[] | undefined;
  /** Constant contents (little-endian, as in the file), or undefined for activations. */
  readonly data: Uint8Array | undefined;
  readonly quantization: TfliteQuantization | undefined;
  readonly sparse: boolean;
}

/** A table of the file, read field by field: the builtin options of an operator. */
export interface TfliteOptions {
  int(field: number, fallback?: number): number;
  byte(field: number, fallback?: number): number;
  bool(field: number): boolean;
  float(field: number): number;
  ints(field: number): number[];
}

export interface TfliteOperator {
  /** BuiltinOperator name (CONV_2D), or CUSTOM:<code> for a custom operator. */
  readonly op: string;
  readonly version: number;
  /** Tensor indices; -1 marks an omitted optional input. */
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly options: TfliteOptions;
}

export interface TfliteModel {
  readonly version: number;
  readonly description: string;
  readonly tensors: readonly TfliteTensor[];
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly operators: readonly TfliteOperator[];
  readonly subgraphs: number;
}

/** BuiltinOperator names by enum value, up to the last one this reader names. */
export const BUILTIN_OPERATORS: readonly string[] = `ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE
EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D
LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 RELU6
RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS SKIP_GRAM CALL CUSTOM
EMBEDDING_LOOKUP_SPARSE PAD UNIDIRECTIONAL_SEQUENCE_RNN GATHER BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND
TRANSPOSE MEAN SUB DIV SQUEEZE UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN
EXP TOPK_V2 SPLIT LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX MINIMUM
LESS NEG PADV2 GREATER GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV SPARSE_TO_DENSE TILE
EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW ARG_MIN FAKE_QUANT REDUCE_PROD REDUCE_MAX
PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK REDUCE_MIN FLOOR_DIV REDUCE_ANY SQUARE
ZEROS_LIKE FILL FLOOR_MOD RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU SQUARED_DIFFERENCE MIRROR_PAD ABS
SPLIT_V UNIQUE CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE RANK ELU REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE
MATRIX_SET_DIAG ROUND HARD_SWISH`.split(/\s+/);

/** One table of the buffer, with typed accessors by field number. */
class Table implements TfliteOptions {
  constructor(
    private readonly bb: ByteBuffer,
    private readonly pos: number,
  ) {}

  private at(field: number): number {
    return this.bb.__offset(this.pos, 4 + 2 * field);
  }

  int(field: number, fallback = 0): number {
    const o = this.at(field);
    return o ? this.bb.readInt32(this.pos + o) : fallback;
  }

  uint(field: number, fallback = 0): number {
    const o = this.at(field);
    return o ? this.bb.readUint32(this.pos + o) : fallback;
  }

  byte(field: number, fallback = 0): number {
    const o = this.at(field);
    return o ? this.bb.readInt8(this.pos + o) : fallback;
  }

  bool(field: number): boolean {
    return this.byte(field) !== 0;
  }

  float(field: number): number {
    const o = this.at(field);
    return o ? this.bb.readFloat32(this.pos + o) : 0;
  }

  string(field: number): string {
    const o = this.at(field);
    return o ? (this.bb.__string(this.pos + o) as string) : '';
  }

  table(field: number): Table | undefined {
    const o = this.at(field);
    return o ? new Table(this.bb, this.bb.__indirect(this.pos + o)) : undefined;
  }

  tables(field: number): Table[] {
    const o = this.at(field);
    if (!o) return [];
    const start = this.bb.__vector(this.pos + o);
    return Array.from({ length: this.bb.__vector_len(this.pos + o) }, (_, i) => new Table(this.bb, this.bb.__indirect(start + 4 * i)));
  }

  /** A vector of scalars, each `size` bytes, read with `read`. */
  private vector<T>(field: number, size: number, read: (at: number) => T): T[] {
    const o = this.at(field);
    if (!o) return [];
    const start = this.bb.__vector(this.pos + o);
    return Array.from({ length: this.bb.__vector_len(this.pos + o) }, (_, i) => read(start + size * i));
  }

  ints(field: number): number[] {
    return this.vector(field, 4, (at) => this.bb.readInt32(at));
  }

  floats(field: number): number[] {
    return this.vector(field, 4, (at) => this.bb.readFloat32(at));
  }

  longs(field: number): bigint[] {
    return this.vector(field, 8, (at) => this.bb.readInt64(at));
  }

  /** A [ubyte] vector as a view into the file, or undefined when absent or empty. */
  bytes(field: number): Uint8Array | undefined {
    const o = this.at(field);
    if (!o) return undefined;
    const start = this.bb.__vector(this.pos + o);
    const len = this.bb.__vector_len(this.pos + o);
    return len ? this.bb.bytes().subarray(start, start + len) : undefined;
  }
}

function opName(code: Table): string {
  // deprecated_builtin_code (a byte) until the enum outgrew it; builtin_code after that.
  const value = Math.max(code.byte(0), code.int(3));
  if (value === 32) return `CUSTOM:${code.string(1)}`;
  return BUILTIN_OPERATORS[value] ?? `BUILTIN_${value}`;
}

/** Parses the main subgraph of a .tflite file. Throws on anything that is not a TFLite flatbuffer. */
export function readTflite(file: Uint8Array): TfliteModel {
  const bb = new ByteBuffer(file);
  if (file.length < 8 || !bb.__has_identifier('TFL3')) throw new Error('not a TensorFlow Lite model (no TFL3 identifier)');
  const model = new Table(bb, bb.readInt32(0));
  const buffers = model.tables(4);
  const codes = model.tables(1);
  const subgraphs = model.tables(2);
  const main = subgraphs[0];
  if (!main) throw new Error('TensorFlow Lite model has no subgraph');

  const tensors = main.tables(0).map((t, index): TfliteTensor => {
    const buffer = buffers[t.uint(2)];
    // Buffers past 2 GB live after the flatbuffer (offset/size); models of that size are not ours.
    if (buffer && buffer.int(1) > 1) throw new Error(`tensor ${t.string(3)}: data outside the flatbuffer is not supported`);
    const q = t.table(4);
    const scale = q?.floats(2) ?? [];
    const signature = t.ints(7);
    return {
      index,
      name: t.string(3),
      type: TENSOR_TYPES[t.byte(1)] ?? `type ${t.byte(1)}`,
      shape: t.ints(0),
      shapeSignature: signature.length ? signature : undefined,
      data: buffer?.bytes(0),
      quantization: q && scale.length ? { scale, zeroPoint: q.longs(3), axis: q.int(6) } : undefined,
      sparse: t.table(6) !== undefined,
    };
  });

  const operators = main.tables(3).map((op): TfliteOperator => {
    const code = codes[op.uint(0)];
    if (!code) throw new Error(`operator refers to a missing operator code ${op.uint(0)}`);
    return {
      op: opName(code),
      version: code.int(2, 1),
      inputs: op.ints(1),
      outputs: op.ints(2),
      // builtin_options is a union: field 3 its type, field 4 the table; absent means all defaults.
      options: op.table(4) ?? new Table(new ByteBuffer(EMPTY_TABLE), 4),
    };
  });

  return {
    version: model.uint(0),
    description: model.string(3),
    tensors,
    inputs: main.ints(1),
    outputs: main.ints(2),
    operators,
    subgraphs: subgraphs.length,
  };
}

/** A table with no fields (vtable of 4 bytes at 0, table at 4 pointing back to it), for absent options. */
const EMPTY_TABLE = Uint8Array.of(4, 0, 4, 0, 4, 0, 0, 0);
