// `bench`'s int8 section: the float and int8 detector and MobileFaceNet on the same images, timed in turns, and how far their answers differ.
import { Embedder, embedderSpec } from '../vision/embedder.js';
import { iou } from '../vision/boxes.js';
import { OnnxFaceBackend } from '../vision/onnx/onnx-backend.js';
import type { Detection, DetectOptions, RgbImage } from '../vision/types.js';
import type { BenchFaces } from './bench-embedders.js';

/** Speed as ratios in one run, and the int8 networks' answers against the float ones. */
export interface Int8Report {
  /** p50 ms of one SSD call, float and int8, and float time / int8 time summed over the same calls. */
  detect: { floatMs: number; int8Ms: number; speedup: number };
  /** p50 ms per face of MobileFaceNet (network only), float and int8, and the summed ratio. */
  embed: { floatMsPerFace: number; int8MsPerFace: number; speedup: number };
  /** Float faces the int8 detector found too (best IoU >= 0.5), the IoU of those, and faces only one found. */
  boxes: { float: number; matched: number; meanIou: number; minIou: number; onlyInt8: number };
  /** Cosine of each face's int8 MobileFaceNet embedding with its float one. */
  cosine: { faces: number; mean: number; min: number };
}

const r = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Pairs each float detection with its best-overlapping int8 one. */
export function matchBoxes(float: readonly Detection[], int8: readonly Detection[]): { ious: number[]; onlyInt8: number } {
  const used = new Set<number>();
  const ious: number[] = [];
  for (const f of float) {
    let best = -1;
    let bestIou = 0;
    int8.forEach((q, k) => {
      const o = iou(f.box, q.box);
      if (!used.has(k) && o > bestIou) [best, bestIou] = [k, o];
    });
    if (best >= 0) used.add(best);
    ious.push(bestIou);
  }
  return { ious, onlyInt8: int8.length - used.size };
}

/**
 * The float and int8 backends take turns per image and iteration (a shared machine's load falls on
 * both alike). Faces are the chips MobileFaceNet's embedder cuts from the float landmarks, so both
 * networks embed the same pixels.
 */
export async function benchInt8(
  frames: readonly BenchFaces[],
  images: readonly RgbImage[],
  iterations: number,
  threads: number,
  options: DetectOptions,
): Promise<Int8Report> {
  const float = new OnnxFaceBackend({ intraOpNumThreads: threads, embedNetwork: 'mobilefacenet' });
  const int8 = new OnnxFaceBackend({ intraOpNumThreads: threads, embedNetwork: 'mobilefacenet', quantize: 'all' });
  const embedder = new Embedder(embedderSpec('mobilefacenet'), float);
  const chips = frames.map((f) => f.landmarks.filter((l) => l.length === 68).map((landmarks) => embedder.chip(f.image, { landmarks, via: 'detector' })));
  const times = { detect: [[], []] as number[][], embed: [[], []] as number[][] };
  const ious: number[] = [];
  const cosines: number[] = [];
  let floatFaces = 0;
  let onlyInt8 = 0;
  try {
    await float.start();
    await int8.start();
    for (let i = 0; i <= iterations; i++) {
      for (const image of images) {
        const found: Detection[][] = [];
        for (const [k, b] of [float, int8].entries()) {
          const t0 = performance.now();
          found.push(await b.detect(image, options));
          if (i > 0) times.detect[k]!.push(performance.now() - t0);
        }
        if (i > 0) continue;
        const m = matchBoxes(found[0]!, found[1]!);
        ious.push(...m.ious);
        floatFaces += found[0]!.length;
        onlyInt8 += m.onlyInt8;
      }
      for (const batch of chips.filter((c) => c.length > 0)) {
        const out: Float32Array[][] = [];
        for (const [k, b] of [float, int8].entries()) {
          const t0 = performance.now();
          out.push(await b.embed(batch));
          if (i > 0) times.embed[k]!.push((performance.now() - t0) / batch.length);
        }
        if (i === 0) out[0]!.forEach((e, f) => cosines.push(e.reduce((acc, v, j) => acc + v * out[1]![f]![j]!, 0)));
      }
    }
  } finally {
    await float.stop();
    await int8.stop();
  }
  const matched = ious.filter((o) => o >= 0.5);
  return {
    detect: { floatMs: r(median(times.detect[0]!), 1), int8Ms: r(median(times.detect[1]!), 1), speedup: r(sum(times.detect[0]!) / sum(times.detect[1]!), 2) },
    embed: {
      floatMsPerFace: r(median(times.embed[0]!), 2),
      int8MsPerFace: r(median(times.embed[1]!), 2),
      speedup: r(sum(times.embed[0]!) / sum(times.embed[1]!), 2),
    },
    boxes: { float: floatFaces, matched: matched.length, meanIou: r(sum(matched) / (matched.length || 1)), minIou: r(Math.min(...matched, 1)), onlyInt8 },
    cosine: { faces: cosines.length, mean: r(sum(cosines) / (cosines.length || 1), 4), min: r(Math.min(...cosines, 1), 4) },
  };
}

/** The section's lines in `bench`'s text report. */
export function formatInt8(q: Int8Report): string {
  return [
    'int8 (vision.quantize) against float, same calls in turns:',
    `  ssd detect      ${q.detect.floatMs} -> ${q.detect.int8Ms} ms p50  ${q.detect.speedup}×; boxes: ${q.boxes.matched} of ${q.boxes.float} float faces found (IoU mean ${q.boxes.meanIou}, min ${q.boxes.minIou}), ${q.boxes.onlyInt8} only by int8`,
    `  mobilefacenet   ${q.embed.floatMsPerFace} -> ${q.embed.int8MsPerFace} ms/face p50  ${q.embed.speedup}×; cosine with float over ${q.cosine.faces} faces: mean ${q.cosine.mean}, min ${q.cosine.min}`,
  ].join('\n');
}
