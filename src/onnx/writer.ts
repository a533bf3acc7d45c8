// A dependency-free ONNX model writer: a builder over a hand-written protobuf encoder of onnx.proto.

/**
 * Usage:
 * ```ts
 * const g = new GraphBuilder('classifier');
 * g.input('x', 'float32', ['N', 128]);              // strings are symbolic dims (dim_param)
 * g.initializer('w', new Float32Array(1280), [128, 10]);
 * const y = g.op('MatMul', ['x', 'w']);              // fresh output name, returned
 * g.node('Softmax', [y], ['probs'], { axis: -1 });
 * g.output('probs', 'float32', ['N', 10]);
 * const bytes = g.toModel({ producer: 'actor-recognizer', metadata: { labels: '...' } });
 * ```
 * Attribute values are inferred: an integer number is INT, any other number FLOAT, a string STRING,
 * a number array INTS when every entry is an integer (else FLOATS), a {@link TensorValue} TENSOR.
 * Wrap with {@link float} / {@link floats} where the operator wants a float that happens to be whole
 * (Gemm's `alpha: float(1)`), since onnxruntime rejects an attribute of the wrong type.
 */

/** Element types the writer can declare and store. */
export type ElemType = 'float32' | 'uint8' | 'int8' | 'int32' | 'int64' | 'bool';

/** A dimension: a fixed size, or a symbolic name (dim_param) such as 'N'. */
export type Dim = number | string;

/** Typed arrays accepted as tensor contents; the element type follows from the array. */
export type TensorData = Float32Array | Uint8Array | Int8Array | Int32Array | BigInt64Array;

/** A tensor value, for initializers and TENSOR attributes. */
export interface TensorValue {
  readonly data: TensorData;
  readonly dims: readonly number[];
  /** Needed only to store a Uint8Array as 'bool'. */
  readonly type?: ElemType;
}

/** An attribute whose protobuf type is stated rather than inferred. */
export type TypedAttr =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'int'; readonly value: number | bigint }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'ints'; readonly value: readonly (number | bigint)[] };

export type AttrValue = number | string | readonly number[] | TensorValue | TypedAttr;

export const float = (value: number): TypedAttr => ({ kind: 'float', value });
export const floats = (value: readonly number[]): TypedAttr => ({ kind: 'floats', value });
export const int = (value: number | bigint): TypedAttr => ({ kind: 'int', value });
export const ints = (value: readonly (number | bigint)[]): TypedAttr => ({ kind: 'ints', value });

export interface ModelOptions {
  /** producer_name; SHOULD be present per the spec. */
  producer?: string;
  producerVersion?: string;
  /** Default opset of the ai.onnx domain: 17. */
  opset?: number;
  /** Extra operator sets, e.g. { 'com.microsoft': 1 }. */
  extraOpsets?: Record<string, number>;
  /** Default 8: the IR that opset 17 shipped with; onnxruntime >= 1.14 reads it. */
  irVersion?: number;
  docString?: string;
  modelVersion?: number;
  /** Stored as metadata_props; onnxruntime exposes them as custom metadata. */
  metadata?: Record<string, string>;
}

// TensorProto.DataType values from onnx.proto.
const DATA_TYPE: Record<ElemType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9 };
// AttributeProto.AttributeType values from onnx.proto.
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

const utf8 = new TextEncoder();

/** Protobuf wire-format encoder. Sub-messages are encoded into their own writer and length-prefixed. */
class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;
  private static readonly f32 = new DataView(new ArrayBuffer(4));

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private varint(value: number | bigint): void {
    this.reserve(10);
    if (typeof value === 'number' && value >= 0 && value <= 0x7fffffff) {
      let v = value;
      while (v > 0x7f) {
        this.buf[this.len++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      this.buf[this.len++] = v;
      return;
    }
    // Negative int64 is its 64-bit two's complement: always ten bytes on the wire.
    let v = BigInt.asUintN(64, BigInt(value));
    while (v > 0x7fn) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number | bigint): void {
    this.tag(field, 0);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.tag(field, 5);
    this.reserve(4);
    ProtoWriter.f32.setFloat32(0, value, true);
    for (let i = 0; i < 4; i++) this.buf[this.len++] = ProtoWriter.f32.getUint8(i);
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, 2);
    this.varint(data.length);
    this.reserve(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  string(field: number, value: string): void {
    this.bytes(field, utf8.encode(value));
  }

  message(field: number, encode: (w: ProtoWriter) => void): void {
    const w = new ProtoWriter();
    encode(w);
    this.bytes(field, w.finish());
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

function elemTypeOf(t: TensorValue): ElemType {
  if (t.type) return t.type;
  if (t.data instanceof Float32Array) return 'float32';
  if (t.data instanceof BigInt64Array) return 'int64';
  if (t.data instanceof Int32Array) return 'int32';
  if (t.data instanceof Int8Array) return 'int8';
  return 'uint8';
}

function encodeTensor(w: ProtoWriter, name: string, t: TensorValue): void {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (count !== t.data.length) {
    throw new RangeError(`tensor ${name}: dims [${t.dims.join(',')}] hold ${count} values, data has ${t.data.length}`);
  }
  for (const d of t.dims) w.int(1, d); // dims: repeated int64, unpacked as declared
  w.int(2, DATA_TYPE[elemTypeOf(t)]);
  if (name) w.string(8, name);
  // raw_data is little-endian by spec; typed arrays are in host order, which is little-endian on
  // every platform onnxruntime-node ships for (x64, arm64).
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

function isTensorValue(v: AttrValue): v is TensorValue {
  return typeof v === 'object' && 'data' in v && 'dims' in v;
}

function encodeAttribute(w: ProtoWriter, name: string, v: AttrValue): void {
  w.string(1, name);
  let typed: TypedAttr | undefined;
  if (typeof v === 'number') typed = Number.isInteger(v) ? int(v) : float(v);
  else if (typeof v === 'string') {
    w.int(20, ATTR.STRING);
    w.string(4, v);
    return;
  } else if (Array.isArray(v)) typed = (v as number[]).every(Number.isInteger) ? ints(v as number[]) : floats(v as number[]);
  else if (isTensorValue(v as AttrValue)) {
    w.int(20, ATTR.TENSOR);
    w.message(5, (t) => encodeTensor(t, '', v as TensorValue));
    return;
  } else typed = v as TypedAttr;
  switch (typed.kind) {
    case 'float':
      w.int(20, ATTR.FLOAT);
      w.float(2, typed.value);
      break;
    case 'int':
      w.int(20, ATTR.INT);
      w.int(3, typed.value);
      break;
    case 'floats':
      w.int(20, ATTR.FLOATS);
      for (const x of typed.value) w.float(7, x);
      break;
    case 'ints':
      w.int(20, ATTR.INTS);
      for (const x of typed.value) w.int(8, x);
      break;
  }
}

function encodeValueInfo(w: ProtoWriter, name: string, type: ElemType, shape?: readonly Dim[]): void {
  w.string(1, name);
  w.message(2, (tp) =>
    tp.message(1, (tt) => {
      tt.int(1, DATA_TYPE[type]);
      if (shape) {
        tt.message(2, (sh) => {
          for (const d of shape) sh.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        });
      }
    }),
  );
}

/** One node as the builder holds it; {@link GraphBuilder.rewriteNodes} hands them to a graph pass. */
export interface NodeSpec {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attrs: Record<string, AttrValue | undefined>;
  name: string;
  domain: string;
}

interface ValueSpec {
  name: string;
  type: ElemType;
  shape: readonly Dim[] | undefined;
}

/** Builds one ONNX graph node by node, then serializes it as a ModelProto. */
export class GraphBuilder {
  private readonly nodes: NodeSpec[] = [];
  private readonly inits: { name: string; value: TensorValue }[] = [];
  private readonly inputs: ValueSpec[] = [];
  private readonly outputs: ValueSpec[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** Declares a graph input. Omit `shape` to leave the rank unknown. */
  input(name: string, type: ElemType, shape?: readonly Dim[]): string {
    this.inputs.push({ name, type, shape });
    this.names.add(name);
    return name;
  }

  /** Declares a graph output: a value some node produces. */
  output(name: string, type: ElemType, shape?: readonly Dim[]): string {
    this.outputs.push({ name, type, shape });
    return name;
  }

  /** Adds a constant tensor (weights). Returns its name. */
  initializer(name: string, data: TensorData, dims: readonly number[], type?: ElemType): string {
    if (this.names.has(name)) throw new Error(`duplicate value name: ${name}`);
    this.names.add(name);
    this.inits.push({ name, value: type ? { data, dims, type } : { data, dims } });
    return name;
  }

  /** An int64 initializer (shapes, axes, pads for Pad/Reshape/Slice). Returns its name. */
  int64(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.initializer(
      name,
      BigInt64Array.from(values, (x) => BigInt(x)),
      dims,
    );
  }

  /** A fresh value name with the given prefix, unique within the graph. */
  fresh(prefix: string): string {
    let name: string;
    // Not reserved here: the counter keeps fresh names apart, and node()/initializer() record them.
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  /** Appends a node; nodes must be added in topological order. Undefined attributes are skipped. */
  node(
    op: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs: Record<string, AttrValue | undefined> = {},
    opts: { name?: string; domain?: string } = {},
  ): void {
    for (const o of outputs) this.names.add(o);
    this.nodes.push({ op, inputs, outputs, attrs, name: opts.name ?? `${op}_${this.nodes.length}`, domain: opts.domain ?? '' });
  }

  /** Appends a single-output node with a fresh output name, and returns that name. */
  op(op: string, inputs: readonly string[], attrs: Record<string, AttrValue | undefined> = {}, outName?: string): string {
    const out = outName ?? this.fresh(op.toLowerCase());
    this.node(op, inputs, [out], attrs);
    return out;
  }

  /** The nodes in order, for graph passes that read the whole graph (quantisation). */
  get nodeList(): readonly Readonly<NodeSpec>[] {
    return this.nodes;
  }

  /** The value of an initializer, or undefined when `name` is not one. */
  initializerValue(name: string): TensorValue | undefined {
    return this.inits.find((t) => t.name === name)?.value;
  }

  /**
   * Replaces the node list with `pass(nodes)`, for a graph pass that inserts or removes nodes. The
   * pass adds the initializers it needs first; nodes must stay in topological order. Initializers
   * no node reads any more (the float weights a quantised graph replaced) are dropped.
   */
  rewriteNodes(pass: (nodes: readonly NodeSpec[]) => NodeSpec[]): void {
    const next = pass(this.nodes);
    this.nodes.length = 0;
    this.nodes.push(...next);
    for (const n of next) for (const o of n.outputs) this.names.add(o);
    const read = new Set(next.flatMap((n) => n.inputs));
    const kept = this.inits.filter((t) => read.has(t.name));
    this.inits.length = 0;
    this.inits.push(...kept);
  }

  private encodeGraph(w: ProtoWriter): void {
    for (const n of this.nodes) {
      w.message(1, (nw) => {
        for (const i of n.inputs) nw.string(1, i);
        for (const o of n.outputs) nw.string(2, o);
        nw.string(3, n.name);
        nw.string(4, n.op);
        if (n.domain) nw.string(7, n.domain);
        for (const [k, v] of Object.entries(n.attrs)) if (v !== undefined) nw.message(5, (aw) => encodeAttribute(aw, k, v));
      });
    }
    w.string(2, this.name);
    for (const t of this.inits) w.message(5, (tw) => encodeTensor(tw, t.name, t.value));
    for (const v of this.inputs) w.message(11, (vw) => encodeValueInfo(vw, v.name, v.type, v.shape));
    for (const v of this.outputs) w.message(12, (vw) => encodeValueInfo(vw, v.name, v.type, v.shape));
  }

  /** The serialized ModelProto, ready for `ort.InferenceSession.create(bytes)` or a .onnx file. */
  toModel(options: ModelOptions = {}): Uint8Array {
    const w = new ProtoWriter();
    w.int(1, options.irVersion ?? 8);
    w.string(2, options.producer ?? 'actor-recognizer');
    if (options.producerVersion) w.string(3, options.producerVersion);
    if (options.modelVersion !== undefined) w.int(5, options.modelVersion);
    if (options.docString) w.string(6, options.docString);
    w.message(7, (gw) => this.encodeGraph(gw));
    w.message(8, (ow) => ow.int(2, options.opset ?? 17));
    for (const [domain, version] of Object.entries(options.extraOpsets ?? {})) {
      w.message(8, (ow) => {
        ow.string(1, domain);
        ow.int(2, version);
      });
    }
    for (const [key, value] of Object.entries(options.metadata ?? {})) {
      w.message(14, (mw) => {
        mw.string(1, key);
        mw.string(2, value);
      });
    }
    return w.finish();
  }
}
