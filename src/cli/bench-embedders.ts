// `bench`'s embedding stage: each embedder (chip, network, test-time augmentation) on the same faces, in one run.
import { Embedder, EMBEDDER_IDS, embedderSpec, type EmbedderId, type EmbeddingNetwork } from '../vision/embedder.js';
import { OnnxFaceBackend } from '../vision/onnx/onnx-backend.js';
import type { Point, RgbImage } from '../vision/types.js';

/** What was measured per embedder: ms per face (chip cut and network), and its cost against today's. */
export interface EmbedderCost {
  p50MsPerFace: number;
  alignMsPerFace: number;
  embedMsPerFace: number;
  /** Summed time per face over that of `face-api-eyes` (the embedder before embedders had names). */
  costRatio: number;
}

/** The faces found by the onnx pipeline, with their images: what every embedder is given. */
export interface BenchFaces {
  image: RgbImage;
  landmarks: Point[][];
}

const BASELINE: EmbedderId = 'face-api-eyes';

/**
 * Times every embedder on the same faces: the embedders take turns per image and iteration, so
 * that load from elsewhere on a shared machine falls on all of them alike and the ratios are fair.
 */
export async function benchEmbedders(frames: readonly BenchFaces[], iterations: number, threads: number): Promise<Record<string, EmbedderCost>> {
  const backends = new Map<EmbeddingNetwork, OnnxFaceBackend>();
  const embedders = EMBEDDER_IDS.map((id) => {
    const spec = embedderSpec(id);
    const network = spec.network.id as EmbeddingNetwork;
    let backend = backends.get(network);
    if (!backend) backends.set(network, (backend = new OnnxFaceBackend({ intraOpNumThreads: threads, embedNetwork: network })));
    return { id, embedder: new Embedder(spec, backend), align: [] as number[], embed: [] as number[], total: [] as number[] };
  });
  try {
    for (const backend of backends.values()) await backend.start();
    for (let i = 0; i <= iterations; i++) {
      for (const frame of frames) {
        const faces = frame.landmarks.filter((l) => l.length === 68);
        if (faces.length === 0) continue;
        for (const e of embedders) {
          const t0 = performance.now();
          const chips = faces.map((landmarks) => e.embedder.chip(frame.image, { landmarks, via: 'detector' }));
          const t1 = performance.now();
          await e.embedder.embedChips(chips);
          const t2 = performance.now();
          // The first pass warms every session up.
          if (i === 0) continue;
          e.align.push((t1 - t0) / faces.length);
          e.embed.push((t2 - t1) / faces.length);
          e.total.push((t2 - t0) / faces.length);
        }
      }
    }
  } finally {
    for (const backend of backends.values()) await backend.stop();
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const r = (x: number) => Math.round(x * 100) / 100;
  const baseline = sum(embedders.find((e) => e.id === BASELINE)!.total) || 1;
  return Object.fromEntries(
    embedders.map((e) => [
      e.id,
      { p50MsPerFace: r(median(e.total)), alignMsPerFace: r(median(e.align)), embedMsPerFace: r(median(e.embed)), costRatio: r(sum(e.total) / baseline) },
    ]),
  );
}
