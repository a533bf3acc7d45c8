// Reads face-api's TensorFlow.js weight files (manifest plus .bin shards) into float32 tensors.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

/** One tensor as TensorFlow.js stores it: row-major, TF layout (NHWC activations, HWIO filters). */
export interface TfWeight {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Every tensor of one network, by its TF name ("dense0/conv0/filters"); `source` names the network in errors. */
export class WeightMap {
  constructor(
    private readonly tensors: ReadonlyMap<string, TfWeight>,
    private readonly source = 'face-api weights',
  ) {}

  /** The named tensor; throws when absent, so a renamed weight fails the compile, not the inference. */
  get(name: string, rank?: number): TfWeight {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.source}: no tensor named ${name}`);
    if (rank !== undefined && t.shape.length !== rank) {
      throw new Error(`${this.source}: ${name} has shape [${t.shape.join(',')}], expected rank ${rank}`);
    }
    return t;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }
}

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { dtype: 'uint8' | 'uint16'; scale: number; min: number };
}

interface ManifestGroup {
  paths: string[];
  weights: ManifestEntry[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2 };

/**
 * Loads `<dir>/<model>-weights_manifest.json` and its shards. Quantized tensors are dequantized as
 * TensorFlow.js does (q * scale + min, in double precision, stored as float32), so both backends start
 * from bit-identical weights. int32 tensors (shape constants in the SSD file) are kept as floats.
 */
export async function loadWeights(dir: string, model: string): Promise<WeightMap> {
  const manifest = JSON.parse(await readFile(path.join(dir, `${model}-weights_manifest.json`), 'utf8')) as ManifestGroup[];
  return decodeManifest(manifest, dir, model);
}

/** A TensorFlow.js graph model (model.json with its topology and weight manifest, and its shards). */
export interface GraphModelFile {
  /** The GraphDef's nodes: name, op, inputs and attributes as TensorFlow.js's converter wrote them. */
  nodes: GraphNode[];
  weights: WeightMap;
}

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { s?: string; i?: string; f?: number; b?: boolean; list?: { i?: string[]; s?: string[] } }>;
}

/** Loads a TensorFlow.js graph model's `model.json` and the weight shards it names (beside it). */
export async function loadGraphModel(file: string): Promise<GraphModelFile> {
  const model = JSON.parse(await readFile(file, 'utf8')) as { modelTopology?: { node?: GraphNode[] }; weightsManifest?: ManifestGroup[] };
  if (!model.modelTopology?.node || !model.weightsManifest) throw new Error(`${file} is not a TensorFlow.js graph model`);
  return { nodes: model.modelTopology.node, weights: await decodeManifest(model.weightsManifest, path.dirname(file), path.basename(file)) };
}

async function decodeManifest(manifest: ManifestGroup[], dir: string, model: string): Promise<WeightMap> {
  const tensors = new Map<string, TfWeight>();
  for (const group of manifest) {
    const shards = await Promise.all(group.paths.map((p) => readFile(path.join(dir, p))));
    const total = shards.reduce((n, s) => n + s.length, 0);
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const s of shards) {
      bytes.set(s, at);
      at += s.length;
    }
    let offset = 0;
    for (const entry of group.weights) {
      const size = entry.shape.reduce((a, b) => a * b, 1);
      const q = entry.quantization;
      const width = BYTES[q ? q.dtype : entry.dtype];
      if (width === undefined) throw new Error(`${model} weights: unsupported dtype in ${entry.name}`);
      const byteLength = size * width;
      if (offset + byteLength > bytes.length) throw new Error(`${model} weights: shards truncated at ${entry.name}`);
      // Copy, so that the typed array starts at an aligned offset of its own buffer.
      const raw = bytes.slice(offset, offset + byteLength);
      offset += byteLength;
      const data = new Float32Array(size);
      if (q) {
        const src = q.dtype === 'uint8' ? raw : new Uint16Array(raw.buffer);
        for (let i = 0; i < size; i++) {
          const v = src[i]! * q.scale + q.min;
          data[i] = entry.dtype === 'int32' ? Math.round(v) : v;
        }
      } else if (entry.dtype === 'int32') {
        data.set(new Int32Array(raw.buffer));
      } else {
        data.set(new Float32Array(raw.buffer));
      }
      tensors.set(entry.name, { data, shape: entry.shape });
    }
  }
  return new WeightMap(tensors, `${model} weights`);
}
