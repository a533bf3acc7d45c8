// Compiles MediaPipe's BlazeFace (the "back camera" model, for small and distant faces) from its TensorFlow.js graph to ONNX.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { GraphBuilder } from '../../onnx/writer.js';
import { NetBuilder, type Act, type Padding } from './layers.js';
import { inputLayout } from './ssd-graph.js';
import type { GraphModelFile, GraphNode } from './weights.js';

const require = createRequire(import.meta.url);

/** The side BlazeFace was trained at (a 256×256 square): a video frame is shown to it at its own aspect with this long side. */
export const BLAZEFACE_SIDE = 256;

/** Bumped whenever this file emits a different graph for the same weights, so that older cached graphs are not reused. */
export const BLAZEFACE_REVISION = 1;

/** Its two prediction grids: `anchors` per cell at each stride, finest first, in the order of its outputs. */
export const BLAZEFACE_GRIDS = [
  { stride: 16, anchors: 2 },
  { stride: 32, anchors: 6 },
] as const;

/** The installed @vladmandic/human package's folder (its exports name neither its models nor its package.json). */
function humanDir(): string {
  return path.resolve(path.dirname(require.resolve('@vladmandic/human')), '..');
}

/** The model.json of BlazeFace-back in the installed @vladmandic/human package (MediaPipe's weights, converted to TensorFlow.js). */
export function blazeFaceModelFile(): string {
  return path.join(humanDir(), 'models', 'blazeface.json');
}

/** The installed @vladmandic/human version: a changed version may mean changed weights. */
export function blazeFaceVersion(): string {
  return (JSON.parse(readFileSync(path.join(humanDir(), 'package.json'), 'utf8')) as { version: string }).version;
}

/** Base64 attribute strings of a TensorFlow GraphDef node as text. */
const text = (s: string | undefined) => (s === undefined ? '' : Buffer.from(s, 'base64').toString('latin1'));

/**
 * The graph, for any input size (a multiple of 32 keeps the grids whole):
 * - `image` uint8 [1, H, W, 3] and `layout` int64 [4] (padH, padW, netH, netW), as the SSD graph
 *   takes them (ssd-graph.ts): zeros appended to padH×padW, then resized to netH×netW;
 * - outputs `scores_16` [N, A16] and `boxes_16` [N, A16, 16] for the stride-16 grid (2 anchors a
 *   cell, row by row), `scores_32` and `boxes_32` for the stride-32 grid (6 a cell): each box is
 *   MediaPipe's raw regression in network pixels (centre offset from the cell's centre, width,
 *   height, then six keypoints), each score the face probability. Decoding and NMS: blazeface.ts.
 *
 * Built by walking the converted graph's nodes: its operators are few (convolutions with their bias
 * and ReLU fused, depthwise convolutions, Add, ReLU, max pooling, a zero pad of the channels, and
 * the reshapes of the heads); an unknown one fails the compile, not the inference.
 */
export function compileBlazeFace(model: GraphModelFile): GraphBuilder {
  const g = new GraphBuilder('blazeface_back');
  const n = new NetBuilder(g);
  // Padded and resized as bytes, then made floats: a 1280×720 frame took 5.7 ms with floats first
  // (an 11 MB copy of the frame, kept by the arena) and 4.3 ms so (one thread, median of 40).
  let input = inputLayout(g, 'blazeface_net_input', BLAZEFACE_SIDE, true);
  // MediaPipe's input range: [-1, 1].
  input = n.channelOp('Sub', n.channelOp('Div', input, [127.5]), [1]);
  const values = new Map<string, Act>();
  const heads = new Map<string, string>();
  const arg = (node: GraphNode, i: number): Act => {
    const name = node.input?.[i];
    const v = name === undefined ? undefined : values.get(name);
    if (!v) throw new Error(`blazeface: ${node.name} reads ${name}, not computed yet`);
    return v;
  };
  const weight = (node: GraphNode, i: number) => model.weights.get(node.input![i]!);
  const stride = (node: GraphNode) => Number(node.attr?.['strides']?.list?.i?.[1] ?? 1);
  const padding = (node: GraphNode): Padding => (text(node.attr?.['padding']?.s) === 'VALID' ? 'valid' : 'same-any');
  for (const node of model.nodes) {
    switch (node.op) {
      case 'Const':
        break;
      case 'Placeholder':
        values.set(node.name, input);
        break;
      case '_FusedConv2D': {
        const fused = (node.attr?.['fused_ops']?.list?.s ?? []).map(text);
        if (fused[0] !== 'BiasAdd' || fused.length > 2 || (fused[1] !== undefined && fused[1] !== 'Relu'))
          throw new Error(`blazeface: ${node.name} fuses ${fused.join('+')}`);
        const y = n.conv(arg(node, 0), weight(node, 1), stride(node), padding(node), { bias: weight(node, 2).data });
        values.set(node.name, fused[1] === 'Relu' ? n.relu(y) : y);
        break;
      }
      case 'DepthwiseConv2dNative':
        values.set(node.name, n.conv(arg(node, 0), weight(node, 1), stride(node), padding(node), {}, true));
        break;
      case 'AddV2':
        values.set(node.name, n.add(arg(node, 0), arg(node, 1)));
        break;
      case 'Relu':
        values.set(node.name, n.relu(arg(node, 0)));
        break;
      case 'MaxPool': {
        const k = Number(node.attr?.['ksize']?.list?.i?.[1] ?? 2);
        values.set(node.name, n.pool('max', arg(node, 0), k, stride(node), padding(node)));
        break;
      }
      case 'Pad': {
        // NHWC paddings [[0,0],[0,0],[0,0],[0,dc]]: the channels of a residual branch grown with zeros.
        const p = Array.from(weight(node, 1).data);
        if (p.length !== 8 || p.some((v, i) => v !== 0 && i !== 7)) throw new Error(`blazeface: ${node.name} pads other than the channels' end`);
        values.set(node.name, n.padEnd(arg(node, 0), p[7]!, 0, 0));
        break;
      }
      case 'Reshape': {
        // A head: [N, H, W, anchors * k] to [N, H * W * anchors, k]; k is the last entry of its shape constant.
        const shape = weight(node, 1).data;
        heads.set(node.name, n.flattenNhwc(arg(node, 0), shape[shape.length - 1]!));
        break;
      }
      case 'Identity': {
        const head = heads.get(node.input?.[0] ?? '');
        if (head === undefined) throw new Error(`blazeface: ${node.name} is not a head`);
        heads.set(node.name, head);
        break;
      }
      default:
        throw new Error(`blazeface: operator ${node.op} (${node.name}) is not supported`);
    }
  }
  // The converted model names its outputs Identity (scores, stride 16), Identity_1 (scores, 32),
  // Identity_2 (boxes, 16), Identity_3 (boxes, 32).
  const output = (from: string, to: string, scores: boolean) => {
    const v = heads.get(from);
    if (v === undefined) throw new Error(`blazeface: no output ${from}`);
    if (scores) g.node('Sigmoid', [g.op('Squeeze', [v, g.int64(g.fresh('axes'), [2])])], [to]);
    else g.node('Identity', [v], [to]);
    g.output(to, 'float32', scores ? ['N', 'A'] : ['N', 'A', 16]);
  };
  output('Identity', 'scores_16', true);
  output('Identity_1', 'scores_32', true);
  output('Identity_2', 'boxes_16', false);
  output('Identity_3', 'boxes_32', false);
  return g;
}
