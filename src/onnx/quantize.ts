// Static int8 quantisation of a built graph in onnxruntime's QDQ layout: int8 per-channel weights, uint8 activations with calibrated ranges.
import type { GraphBuilder, NodeSpec } from './writer.js';

/**
 * Calibrated ranges of one network's activations, as `scripts/calibrate-int8.mjs` writes them to
 * models/quant/<network>.json: the smallest and largest value each tensor took over the photos.
 */
export interface QuantRanges {
  /** The network the ranges were measured on, and the graph it was built by (tensor names are the builder's). */
  network: string;
  /** How many images the ranges were measured on, and from where. */
  images: number;
  source: string;
  tensors: Record<string, readonly [number, number]>;
}

/** What {@link quantizeGraph} changed, for the log and the docs. */
export interface QuantizeSummary {
  convs: number;
  adds: number;
  tensors: number;
}

const ACTIVATIONS = new Set(['Relu', 'Clip']);

/** Bumped whenever the pass makes another graph from the same ranges, so that cached int8 graphs are rebuilt. */
export const QUANTIZE_REVISION = 2;

/** Convolutions with constant float weights: the nodes that become QLinearConv. */
function quantizableConvs(g: GraphBuilder): NodeSpec[] {
  return g.nodeList.filter((n) => n.op === 'Conv' && g.initializerValue(n.inputs[1] ?? '')?.data instanceof Float32Array) as NodeSpec[];
}

function consumersOf(nodes: readonly NodeSpec[]): Map<string, NodeSpec[]> {
  const map = new Map<string, NodeSpec[]>();
  for (const n of nodes) for (const i of n.inputs) map.set(i, [...(map.get(i) ?? []), n]);
  return map;
}

/**
 * The activations to quantise: the input of every convolution, its output after a Relu or Clip
 * that alone follows it (onnxruntime drops that activation into the uint8 range of the Q after it,
 * ReluQuantFusion / ClipQuantFusion), and the inputs and output of every Add joining convolution
 * outputs (residuals, the emulated PReLU), which then runs as QLinearAdd. Box decoding and
 * normalisation, which no convolution feeds directly, stay float.
 */
export function calibrationTensors(g: GraphBuilder): string[] {
  const consumers = consumersOf(g.nodeList as NodeSpec[]);
  const outputs = new Set<string>();
  const tensors = new Set<string>();
  for (const conv of quantizableConvs(g)) {
    tensors.add(conv.inputs[0]!);
    const y = conv.outputs[0]!;
    const next = consumers.get(y) ?? [];
    const post = next.length === 1 && ACTIVATIONS.has(next[0]!.op) ? next[0]!.outputs[0]! : y;
    tensors.add(post);
    outputs.add(post);
  }
  for (const add of g.nodeList) {
    if (add.op !== 'Add' || !add.inputs.some((i) => outputs.has(i))) continue;
    if (add.inputs.some((i) => g.initializerValue(i))) continue;
    for (const t of [...add.inputs, ...add.outputs]) tensors.add(t);
  }
  return [...tensors];
}

/** uint8 asymmetric parameters covering [min, max] and zero (so that zero padding is exact). */
export function activationParams(min: number, max: number): { scale: number; zeroPoint: number } {
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  const scale = Math.max(hi - lo, 1e-6) / 255;
  return { scale: Math.fround(scale), zeroPoint: Math.min(255, Math.max(0, Math.round(-lo / scale))) };
}

/** Symmetric int8 per output channel (axis 0): scale = max |w| / 127. */
export function quantizeWeights(w: Float32Array, channels: number): { q: Int8Array; scales: Float32Array } {
  const per = w.length / channels;
  const q = new Int8Array(w.length);
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    let max = 0;
    for (let i = c * per; i < (c + 1) * per; i++) max = Math.max(max, Math.abs(w[i]!));
    const s = Math.fround(max > 0 ? max / 127 : 1);
    scales[c] = s;
    for (let i = c * per; i < (c + 1) * per; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i]! / s)));
  }
  return { q, scales };
}

/**
 * Rewrites `g` in place into the QDQ form onnxruntime's optimizer fuses into QLinearConv and
 * QLinearAdd: each calibrated activation goes through QuantizeLinear (uint8) and a DequantizeLinear
 * per consumer; each convolution's weights become int8 per-channel initializers behind a
 * DequantizeLinear, its bias int32 at scale input × weight. Throws when a tensor has no range: the
 * ranges were measured on another graph.
 */
export function quantizeGraph(g: GraphBuilder, ranges: QuantRanges, keepFloat: (tensor: string) => boolean = () => false): QuantizeSummary {
  const tensors = calibrationTensors(g).filter((t) => !keepFloat(t));
  const missing = tensors.filter((t) => !ranges.tensors[t]);
  if (missing.length) throw new Error(`int8 ranges for ${g.name} lack ${missing.length} tensors (${missing.slice(0, 3).join(', ')}): recalibrate`);
  const params = new Map<string, { scale: string; zp: string; value: number }>();
  for (const t of tensors) {
    const [min, max] = ranges.tensors[t]!;
    const p = activationParams(min, max);
    params.set(t, {
      scale: g.initializer(g.fresh(`${t}_scale`), Float32Array.of(p.scale), []),
      zp: g.initializer(g.fresh(`${t}_zp`), Uint8Array.of(p.zeroPoint), [], 'uint8'),
      value: p.scale,
    });
  }
  const convs = quantizableConvs(g).filter((c) => tensors.includes(c.inputs[0]!));
  const weightNodes = new Map<NodeSpec, NodeSpec[]>();
  for (const conv of convs) weightNodes.set(conv, dequantizeConstants(g, conv, params.get(conv.inputs[0]!)!.value));
  const quantized = new Set(tensors);
  const dequantized = new Set<string>();
  g.rewriteNodes((nodes) => {
    const out: NodeSpec[] = [];
    const renamed = new Map<string, string[]>();
    const take = (t: string): string => {
      const queue = renamed.get(t);
      return queue?.shift() ?? t;
    };
    const quantize = (y: string) => {
      const p = params.get(y)!;
      const q = `${y}_q`;
      out.push({ op: 'QuantizeLinear', inputs: [y, p.scale, p.zp], outputs: [q], attrs: {}, name: `${q}_node`, domain: '' });
      // One DequantizeLinear per consumer: a shared one would join two node units.
      const uses = nodes.flatMap((n) => n.inputs.filter((i) => i === y));
      const names = uses.map((_, k) => `${y}_dq${k}`);
      names.forEach((dq) => out.push({ op: 'DequantizeLinear', inputs: [q, p.scale, p.zp], outputs: [dq], attrs: {}, name: `${dq}_node`, domain: '' }));
      renamed.set(y, names);
      for (const dq of names) dequantized.add(dq);
    };
    // Graph inputs first, then each tensor right after the node that makes it.
    const produced = new Set(nodes.flatMap((n) => n.outputs));
    for (const t of tensors) if (!produced.has(t)) quantize(t);
    for (const node of nodes) {
      out.push(...(weightNodes.get(node) ?? []));
      out.push({ ...node, inputs: node.inputs.map((i) => (quantized.has(i) ? take(i) : i)) });
      for (const y of node.outputs) if (quantized.has(y)) quantize(y);
    }
    return out;
  });
  const adds = g.nodeList.filter((n) => n.op === 'Add' && n.inputs.every((i) => dequantized.has(i))).length;
  return { convs: convs.length, adds, tensors: tensors.length };
}

/** Replaces a convolution's float weights and bias with int8 / int32 initializers and the DequantizeLinear nodes that read them. */
function dequantizeConstants(g: GraphBuilder, conv: NodeSpec, inputScale: number): NodeSpec[] {
  const weight = g.initializerValue(conv.inputs[1]!)!;
  const channels = weight.dims[0]!;
  const { q, scales } = quantizeWeights(weight.data as Float32Array, channels);
  const base = conv.inputs[1]!;
  const wq = g.initializer(g.fresh(`${base}_int8`), q, weight.dims, 'int8');
  const ws = g.initializer(g.fresh(`${base}_scale`), scales, [channels]);
  const wz = g.initializer(g.fresh(`${base}_zp`), new Int8Array(channels), [channels], 'int8');
  const nodes: NodeSpec[] = [];
  const wdq = g.fresh(`${base}_dq`);
  nodes.push({ op: 'DequantizeLinear', inputs: [wq, ws, wz], outputs: [wdq], attrs: { axis: 0 }, name: `${wdq}_node`, domain: '' });
  const inputs = [conv.inputs[0]!, wdq];
  const biasName = conv.inputs[2];
  if (biasName) {
    const bias = g.initializer(g.fresh(`${biasName}_int32`), new Int32Array(channels), [channels], 'int32');
    const b = g.initializerValue(biasName)!.data as Float32Array;
    const bq = g.initializerValue(bias)!.data as Int32Array;
    const bs = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      bs[c] = Math.fround(inputScale * scales[c]!);
      bq[c] = Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(b[c]! / bs[c]!)));
    }
    const bsName = g.initializer(g.fresh(`${biasName}_scale`), bs, [channels]);
    const bz = g.initializer(g.fresh(`${biasName}_zp`), new Int32Array(channels), [channels], 'int32');
    const bdq = g.fresh(`${biasName}_dq`);
    nodes.push({ op: 'DequantizeLinear', inputs: [bias, bsName, bz], outputs: [bdq], attrs: { axis: 0 }, name: `${bdq}_node`, domain: '' });
    inputs.push(bdq);
  }
  conv.inputs = inputs;
  return nodes;
}
