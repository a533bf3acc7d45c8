// Counts the multiply-adds of an ONNX graph's Conv, MatMul and Gemm nodes from the file itself.

/**
 * FLOPs of one inference, counting 2 per multiply-add: Conv 2·Cout·(Cin/group)·kh·kw·Hout·Wout,
 * MatMul and Gemm 2·M·N·K. Elementwise operators are left out: they are memory-bound and do not
 * say how close the convolutions come to the machine's arithmetic limit.
 */
export interface GraphFlops {
  flops: number;
  convs: number;
  matmuls: number;
}

interface NodeInfo {
  op: string;
  inputs: string[];
  outputs: string[];
  ints: Map<string, number[]>;
}

/** A minimal protobuf reader: just the fields of onnx.proto that shapes and FLOPs need. */
class Reader {
  pos: number;
  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
  }

  /** Calls `field` for every field until the end; the callback reads length-delimited values itself. */
  fields(field: (num: number, wire: number, r: Reader) => boolean): void {
    while (this.pos < this.end) {
      const key = this.varint();
      const num = Math.floor(key / 8);
      const wire = key & 7;
      if (field(num, wire, this)) continue;
      if (wire === 0) this.varint();
      else if (wire === 1) this.pos += 8;
      else if (wire === 5) this.pos += 4;
      else if (wire === 2) {
        const len = this.varint();
        this.pos += len;
      } else throw new Error(`onnx reader: unsupported wire type ${wire}`);
    }
  }

  sub(): Reader {
    const len = this.varint();
    const r = new Reader(this.buf, this.pos, this.pos + len);
    this.pos += len;
    return r;
  }

  bytes(): Uint8Array {
    const len = this.varint();
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  string(): string {
    return new TextDecoder().decode(this.bytes());
  }

  /** A repeated integer field, packed (wire 2) or not. */
  ints(wire: number, into: number[]): void {
    if (wire === 0) return void into.push(this.varint());
    const r = this.sub();
    while (r.pos < r.end) into.push(r.varint());
  }
}

function readNode(r: Reader): NodeInfo {
  const node: NodeInfo = { op: '', inputs: [], outputs: [], ints: new Map() };
  r.fields((num, wire, f) => {
    if (num === 1) node.inputs.push(f.string());
    else if (num === 2) node.outputs.push(f.string());
    else if (num === 4) node.op = f.string();
    else if (num === 5) {
      let name = '';
      const values: number[] = [];
      f.sub().fields((an, aw, a) => {
        if (an === 1) name = a.string();
        else if (an === 3 || an === 8) a.ints(aw, values);
        else return false;
        return true;
      });
      node.ints.set(name, values);
    } else return false;
    return true;
  });
  return node;
}

/** Initializer shapes, and the values of int64 initializers (shapes, pads, sizes). */
function readInitializer(r: Reader): { name: string; dims: number[]; int64?: number[] } {
  let name = '';
  let type = 0;
  let raw: Uint8Array | undefined;
  const dims: number[] = [];
  r.fields((num, wire, f) => {
    if (num === 1) f.ints(wire, dims);
    else if (num === 2) type = f.varint();
    else if (num === 8) name = f.string();
    else if (num === 9) raw = f.bytes();
    else return false;
    return true;
  });
  if (type !== 7 || !raw) return { name, dims };
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const int64 = Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(view.getBigInt64(i * 8, true)));
  return { name, dims, int64 };
}

/**
 * Reads an ONNX model and propagates static shapes from `inputs` (or from a Resize to fixed sizes,
 * for graphs whose input is an image of any size) through the operators these graphs use.
 */
export function countFlops(model: Uint8Array, inputs: Record<string, number[]> = {}): GraphFlops {
  const nodes: NodeInfo[] = [];
  const dims = new Map<string, number[]>();
  const values = new Map<string, number[]>();
  new Reader(model).fields((num, _wire, r) => {
    if (num !== 7) return false;
    r.sub().fields((gn, _gw, g) => {
      if (gn === 1) nodes.push(readNode(g.sub()));
      else if (gn === 5) {
        const init = readInitializer(g.sub());
        dims.set(init.name, init.dims);
        if (init.int64) values.set(init.name, init.int64);
      } else return false;
      return true;
    });
    return true;
  });
  const shapes = new Map<string, number[]>(Object.entries(inputs));
  for (const [name, d] of dims) shapes.set(name, d);
  const result: GraphFlops = { flops: 0, convs: 0, matmuls: 0 };
  for (const node of nodes) {
    const x = shapes.get(node.inputs[0] ?? '');
    const out = outputShape(node, x, shapes, values, result);
    if (out && node.outputs[0]) shapes.set(node.outputs[0], out);
  }
  return result;
}

const ELEMENTWISE = new Set(['Cast', 'Relu', 'Clip', 'LeakyRelu', 'Sigmoid', 'Exp', 'Identity', 'Add', 'Sub', 'Mul', 'Div']);

function outputShape(
  node: NodeInfo,
  x: number[] | undefined,
  shapes: Map<string, number[]>,
  values: Map<string, number[]>,
  acc: GraphFlops,
): number[] | undefined {
  const attr = (name: string, fallback: number[]): number[] => node.ints.get(name) ?? fallback;
  if (node.op === 'Resize') return values.get(node.inputs[3] ?? '');
  if (ELEMENTWISE.has(node.op)) {
    // Broadcasting against a constant: the larger of the known shapes.
    const known = node.inputs.map((i) => shapes.get(i)).filter((s): s is number[] => s !== undefined);
    return known.sort((a, b) => b.reduce((p, v) => p * v, 1) - a.reduce((p, v) => p * v, 1))[0];
  }
  if (!x) return undefined;
  switch (node.op) {
    case 'Transpose':
      return attr(
        'perm',
        x.map((_, i) => x.length - 1 - i),
      ).map((p) => x[p]!);
    case 'Conv':
    case 'MaxPool':
    case 'AveragePool': {
      const w = shapes.get(node.inputs[1] ?? '');
      const kernel = node.op === 'Conv' ? w!.slice(2) : attr('kernel_shape', []);
      const strides = attr('strides', [1, 1]);
      const pads = attr('pads', [0, 0, 0, 0]);
      const h = Math.floor((x[2]! + pads[0]! + pads[2]! - kernel[0]!) / strides[0]!) + 1;
      const wd = Math.floor((x[3]! + pads[1]! + pads[3]! - kernel[1]!) / strides[1]!) + 1;
      const cout = node.op === 'Conv' ? w![0]! : x[1]!;
      if (node.op === 'Conv') {
        acc.flops += 2 * x[0]! * cout * w![1]! * kernel[0]! * kernel[1]! * h * wd;
        acc.convs++;
      }
      return [x[0]!, cout, h, wd];
    }
    case 'GlobalAveragePool':
      return [x[0]!, x[1]!, 1, 1];
    case 'Pad': {
      const pads = values.get(node.inputs[1] ?? '');
      return pads ? x.map((d, i) => d + pads[i]! + pads[i + x.length]!) : undefined;
    }
    case 'Flatten': {
      const axis = attr('axis', [1])[0]!;
      return [x.slice(0, axis).reduce((p, v) => p * v, 1), x.slice(axis).reduce((p, v) => p * v, 1)];
    }
    case 'Reshape': {
      const target = values.get(node.inputs[1] ?? '');
      if (!target) return undefined;
      const shape = target.map((d, i) => (d === 0 ? x[i]! : d));
      const known = shape.filter((d) => d !== -1).reduce((p, v) => p * v, 1);
      return shape.map((d) => (d === -1 ? x.reduce((p, v) => p * v, 1) / known : d));
    }
    case 'MatMul':
    case 'Gemm': {
      const w = shapes.get(node.inputs[1] ?? '');
      if (!w) return undefined;
      const transB = node.op === 'Gemm' && attr('transB', [0])[0] === 1;
      const [k, n] = transB ? [w[1]!, w[0]!] : [w[0]!, w[1]!];
      const rows = x.slice(0, -1).reduce((p, v) => p * v, 1);
      acc.flops += 2 * rows * k * n;
      acc.matmuls++;
      return [...x.slice(0, -1), n];
    }
    default:
      return undefined;
  }
}
