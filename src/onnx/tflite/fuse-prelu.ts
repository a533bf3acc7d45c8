// Finds PReLU spelled out in elementwise operators (old TOCO conversions) and turns it into one PRELU.
import type { TfliteEmitter } from './emitter.js';
import type { TfliteOperator } from './reader.js';

/**
 * TOCO had no PRELU, so TensorFlow graphs of that time wrote it out, and the .tflite keeps the
 * pieces. Two spellings, both exact in float arithmetic, so fusing changes no output bit:
 *
 *  - MobileFaceNet (sirius-ai): relu(x) + c * (x - |x|), where c is alpha / 2;
 *    (x - |x|) is 2x or 0 exactly, so c * (x - |x|) equals (2c) * min(x, 0).
 *  - MTCNN (facenet's port): relu(x) + alpha * -relu(-x); -relu(-x) is min(x, 0) exactly.
 *
 * Five or six operators become one, which is emitted in a form that stays in onnxruntime's
 * blocked layout (ops.ts `prelu`): together, MobileFaceNet runs in 57% of the time.
 */
export function fusePrelu(e: TfliteEmitter, operators: readonly TfliteOperator[]): TfliteOperator[] {
  const producer = new Map<number, number>();
  const uses = new Map<number, number>();
  operators.forEach((op, k) => {
    for (const o of op.outputs) producer.set(o, k);
    for (const i of op.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
  });
  for (const o of e.model.outputs) uses.set(o, (uses.get(o) ?? 0) + 1);

  /** The operator producing `t` when it is `name`, has no fused activation, and `t` has no other reader. */
  const only = (t: number, name: string): TfliteOperator | undefined => {
    const k = producer.get(t);
    const op = k === undefined ? undefined : operators[k];
    if (!op || op.op !== name || uses.get(t) !== 1) return undefined;
    if ((name === 'MUL' || name === 'SUB') && op.options.byte(0) !== 0) return undefined;
    return op;
  };

  /** MUL(constant, v) in either order: [constant, v]. */
  const scaled = (mul: TfliteOperator): [number, number] | undefined => {
    const [a, b] = mul.inputs as [number, number];
    if (e.isConstant(a) && !e.isConstant(b)) return [a, b];
    if (e.isConstant(b) && !e.isConstant(a)) return [b, a];
    return undefined;
  };

  /** The pieces of one PReLU ending in `add`, with x and alpha, or undefined. */
  const match = (add: TfliteOperator): { x: number; alpha: Float32Array; shape: readonly number[]; parts: TfliteOperator[] } | undefined => {
    if (add.op !== 'ADD' || add.options.byte(0) !== 0) return undefined;
    for (const [p, q] of [add.inputs, [...add.inputs].reverse()] as [number, number][]) {
      const relu = only(p, 'RELU');
      const mul = only(q, 'MUL');
      const sc = mul && scaled(mul);
      if (!relu || !mul || !sc) continue;
      const x = relu.inputs[0]!;
      const [c, v] = sc;
      const sub = only(v, 'SUB');
      const abs = sub && sub.inputs[0] === x ? only(sub.inputs[1]!, 'ABS') : undefined;
      if (sub && abs && abs.inputs[0] === x) {
        return { x, alpha: e.floats(c).map((a) => 2 * a), shape: e.shape(c), parts: [relu, abs, sub, mul] };
      }
      const neg1 = only(v, 'NEG');
      const relu1 = neg1 && only(neg1.inputs[0]!, 'RELU');
      const neg0 = relu1 && only(relu1.inputs[0]!, 'NEG');
      if (neg1 && relu1 && neg0 && neg0.inputs[0] === x) {
        return { x, alpha: e.floats(c), shape: e.shape(c), parts: [relu, neg0, relu1, neg1, mul] };
      }
    }
    return undefined;
  };

  const dropped = new Set<TfliteOperator>();
  const replaced = new Map<TfliteOperator, TfliteOperator>();
  for (const op of operators) {
    const m = match(op);
    if (!m) continue;
    for (const part of m.parts) dropped.add(part);
    const alpha = e.addConstant(m.alpha, m.shape, `${e.tensor(op.outputs[0]!).name}/prelu_alpha`);
    replaced.set(op, { op: 'PRELU', version: 1, inputs: [m.x, alpha], outputs: op.outputs, options: op.options });
  }
  return operators.filter((op) => !dropped.has(op)).map((op) => replaced.get(op) ?? op);
}
