// Compiles a TensorFlow Lite model (float, or with float16/int8 weights) to an ONNX graph.
import { GraphBuilder, type ElemType } from '../writer.js';
import { TfliteEmitter, type Layout } from './emitter.js';
import { fusePrelu } from './fuse-prelu.js';
import { CONVERTERS } from './ops.js';
import type { TfliteModel } from './reader.js';

/**
 * Bumped whenever the compiler emits a different graph for the same .tflite, so that graphs cached
 * by an older compiler are not reused.
 */
export const TFLITE_COMPILER_REVISION = 1;

/** A tensor of the TFLite model bound to an ONNX value that the caller made. */
export interface TfliteBinding {
  /** ONNX value name. */
  readonly name: string;
  /** 'plain' for TFLite's own layout (NHWC images), 'nchw' for a 4-D value already permuted. */
  readonly layout: Layout;
}

export interface TfliteCompileOptions {
  /** Symbolic batch 'N' instead of the file's fixed one. Default true. */
  dynamicBatch?: boolean;
  /**
   * Fuse PReLU written out as RELU/ABS/SUB/MUL/ADD (or RELU/NEG/RELU/NEG/MUL/ADD) into one PRELU.
   * Default true. Exact (see fuse-prelu.ts). MobileFaceNet at batch 16 on 2 threads: 19 ms per
   * face unfused, 10.8 ms fused (ops.ts `prelu` says how PRELU is emitted).
   */
  fusePrelu?: boolean;
}

/** Operators of `model` that this compiler cannot convert, each named once. */
export function unsupportedOperators(model: TfliteModel): string[] {
  return [...new Set(model.operators.map((op) => op.op))].filter((name) => !(name in CONVERTERS));
}

/**
 * Emits `model`'s main subgraph into `g`, reading its inputs from `inputs` (one binding per model
 * input, in order), and returns one binding per model output: values the caller may transform
 * further (normalise) before declaring graph outputs. Throws, naming every unsupported operator,
 * before emitting anything.
 */
export function emitTflite(g: GraphBuilder, model: TfliteModel, inputs: readonly TfliteBinding[], options: TfliteCompileOptions = {}): TfliteBinding[] {
  if (model.subgraphs > 1) throw new Error(`the model has ${model.subgraphs} subgraphs (control flow), which this compiler does not support`);
  const missing = unsupportedOperators(model);
  if (missing.length) throw new Error(`unsupported TensorFlow Lite operator(s): ${missing.join(', ')}`);
  if (inputs.length !== model.inputs.length) throw new Error(`the model has ${model.inputs.length} input(s), ${inputs.length} bound`);
  const e = new TfliteEmitter(g, model, options);
  model.inputs.forEach((t, k) => e.define(t, inputs[k]!.name, inputs[k]!.layout));
  const operators = options.fusePrelu === false ? model.operators : fusePrelu(e, model.operators);
  for (const op of operators) {
    try {
      CONVERTERS[op.op]!(e, op);
    } catch (err) {
      throw new Error(`${op.op} -> ${op.outputs.map((o) => e.tensor(o).name).join(', ')}: ${(err as Error).message}`, { cause: err });
    }
  }
  return model.outputs.map((t) => ({ name: e.get(t, 'plain'), layout: 'plain' as const }));
}

const ELEM: Record<string, ElemType> = { float32: 'float32', uint8: 'uint8', int8: 'int8', int32: 'int32', int64: 'int64', bool: 'bool' };

function elemType(type: string, what: string): ElemType {
  const t = ELEM[type];
  if (!t) throw new Error(`${what} has type ${type}, which an ONNX graph input or output here cannot have`);
  return t;
}

/**
 * The whole model as a graph with the file's inputs and outputs, under the file's tensor names
 * (TFLite's layout, batch 'N' when dynamic). For tests and for models used as they are.
 */
export function compileTflite(model: TfliteModel, name: string, options: TfliteCompileOptions = {}): GraphBuilder {
  const g = new GraphBuilder(name);
  const dims = (shape: readonly number[]) => shape.map((d, k) => (k === 0 && options.dynamicBatch !== false ? 'N' : d));
  const inputs = model.inputs.map((t) => {
    const tensor = model.tensors[t]!;
    return { name: g.input(tensor.name, elemType(tensor.type, `input ${tensor.name}`), dims(tensor.shape)), layout: 'plain' as const };
  });
  const outputs = emitTflite(g, model, inputs, options);
  model.outputs.forEach((t, k) => {
    const tensor = model.tensors[t]!;
    g.node('Identity', [outputs[k]!.name], [tensor.name]);
    g.output(tensor.name, elemType(tensor.type, `output ${tensor.name}`), dims(tensor.shape));
  });
  return g;
}
