// `bench`'s yardstick: the machine's measured peak GFLOP/s (a matmul and a conv graph on onnxruntime), and a Raspberry Pi estimate.
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { countFlops } from '../onnx/flops.js';
import { SSD_NET_INPUT } from '../vision/onnx/ssd-graph.js';
import { GraphBuilder } from '../onnx/writer.js';
import { BLAZEFACE_SIDE } from '../vision/onnx/blazeface-graph.js';
import { blazeFaceModelPath, faceModelBytes, type FaceNet } from '../vision/onnx/model-cache.js';
import { round, type Network } from './bench-report.js';

/** One probe graph: its arithmetic and the best time of its runs. */
export interface ProbeResult {
  gflop: number;
  bestMs: number;
  gflops: number;
}

export interface Peak {
  matmul: ProbeResult;
  conv: ProbeResult;
  /** The higher of the two: what "% of peak" divides by. */
  gflops: number;
  intraOpNumThreads: number;
}

/** Chained layers per probe: enough arithmetic (~1 GFLOP) that the call overhead is lost in it. */
const LAYERS = 8;
/** Runs per probe; the best counts (a 1 GFLOP run takes 10–40 ms, so this is under a second). */
const RUNS = 15;

/** Dense layers [256, 512] × [512, 512]: the shape of a large, cache-friendly GEMM. */
function matmulProbe(): Uint8Array {
  const g = new GraphBuilder('peak_matmul');
  let x = g.input('x', 'float32', [256, 512]);
  for (let i = 0; i < LAYERS; i++) x = g.op('MatMul', [x, g.initializer(`w${i}`, weights(512 * 512, 512), [512, 512])]);
  g.node('Identity', [x], ['y']);
  g.output('y', 'float32', [256, 512]);
  return g.toModel({ producer: 'actor-recognizer', docString: 'bench peak probe: chained MatMul' });
}

/** 3×3 convolutions, 64 → 64 channels on 56×56: the bulk of a ResNet's arithmetic. */
function convProbe(): Uint8Array {
  const g = new GraphBuilder('peak_conv');
  let x = g.input('x', 'float32', [1, 64, 56, 56]);
  for (let i = 0; i < LAYERS / 2; i++) {
    const w = g.initializer(`k${i}`, weights(64 * 64 * 9, 64 * 9), [64, 64, 3, 3]);
    x = g.op('Conv', [x, w], { pads: [1, 1, 1, 1], kernel_shape: [3, 3] });
  }
  g.node('Identity', [x], ['y']);
  g.output('y', 'float32', [1, 64, 56, 56]);
  return g.toModel({ producer: 'actor-recognizer', docString: 'bench peak probe: chained 3x3 Conv' });
}

/** Small deterministic weights that keep activations near unit scale through the chain (no inf, no denormals). */
function weights(n: number, fanIn: number): Float32Array {
  let seed = 7;
  const scale = Math.sqrt(3 / fanIn);
  return Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 * scale - scale);
}

async function runProbe(model: Uint8Array, shape: number[], threads: number): Promise<ProbeResult> {
  const flop = countFlops(model, { x: shape }).flops;
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1 });
  try {
    const input = new ort.Tensor(
      'float32',
      weights(
        shape.reduce((a, b) => a * b, 1),
        1,
      ),
      shape,
    );
    await session.run({ x: input });
    let best = Infinity;
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await session.run({ x: input });
      best = Math.min(best, performance.now() - t0);
    }
    return { gflop: round(flop / 1e9, 3), bestMs: round(best), gflops: round(flop / (best * 1e6), 1) };
  } finally {
    await session.release();
  }
}

/**
 * The machine's peak as onnxruntime reaches it, with the stages' thread count: the best of a few
 * runs of each probe (the best, not the median: a shared machine only ever takes speed away).
 */
export async function measurePeak(threads: number): Promise<Peak> {
  const matmul = await runProbe(matmulProbe(), [256, 512], threads);
  const conv = await runProbe(convProbe(), [1, 64, 56, 56], threads);
  return { matmul, conv, gflops: Math.max(matmul.gflops, conv.gflops), intraOpNumThreads: threads };
}

/** Each probe's better run of two measurements. */
export function better(a: Peak, b: Peak): Peak {
  const pick = (x: ProbeResult, y: ProbeResult) => (x.gflops >= y.gflops ? x : y);
  const matmul = pick(a.matmul, b.matmul);
  const conv = pick(a.conv, b.conv);
  return { matmul, conv, gflops: Math.max(matmul.gflops, conv.gflops), intraOpNumThreads: a.intraOpNumThreads };
}

/**
 * Raspberry Pi FP32 peaks from published specifications, for an ESTIMATE only (no Pi was measured):
 * cores × clock × 16 FLOP per cycle (two 128-bit NEON pipes, each a 4-lane fused multiply-add).
 * - Pi 4 Model B: 4 × Cortex-A72 at 1.5 GHz (Raspberry Pi 4 product brief,
 *   https://datasheets.raspberrypi.com/rpi4/raspberry-pi-4-product-brief.pdf); the A72's two FP/ASIMD
 *   pipes: Arm Cortex-A72 Software Optimization Guide (UAN0016).
 * - Pi 5: 4 × Cortex-A76 at 2.4 GHz (Raspberry Pi 5 product brief,
 *   https://datasheets.raspberrypi.com/rpi5/raspberry-pi-5-product-brief.pdf); two FP/ASIMD pipes:
 *   Arm Cortex-A76 Software Optimization Guide.
 * Measured, for scale: HPL (FP64, half the lanes) reaches about 8 GFLOP/s on a Pi 4, 17% of its FP64
 * peak (B. Feiereisen, "Benchmarking the Raspberry Pi 4 with Raspberry Pi OS64", 2022,
 * https://feiereisen.net/?page_id=924).
 */
export const PI_PEAK_GFLOPS = { pi4: 4 * 1.5 * 16, pi5: 4 * 2.4 * 16 } as const;

export interface PiEstimate {
  estimate: true;
  basis: string;
  peakGflops: typeof PI_PEAK_GFLOPS;
  /** ms per inference (one image for detectors, one face otherwise) on each Pi. */
  ms: Record<string, { pi4: number; pi5: number; fractionOfPeakHere: number }>;
  /** A frame with one face: detector, landmarks and descriptor. */
  frameOneFaceMs: { pi4: number; pi5: number };
}

/**
 * Each network's time on a Pi, were it to reach the same fraction of the Pi's peak as it reaches of
 * this machine's measured peak: GFLOP / (Pi peak × that fraction). A best case: the Pi's peak is
 * its paper peak, this machine's is measured (HPL on a Pi 4 reaches 17% of its paper peak), and
 * memory bandwidth and smaller caches cost a Pi more. The ratios between networks carry over.
 */
export function piEstimate(gflop: Record<string, number>, achieved: Partial<Record<string, number>>, peak: number): PiEstimate {
  const ms: PiEstimate['ms'] = {};
  for (const [net, g] of Object.entries(gflop)) {
    const a = achieved[net];
    if (!a || !(peak > 0)) continue;
    const fraction = Math.min(1, a / peak);
    ms[net] = {
      pi4: round((g / (PI_PEAK_GFLOPS.pi4 * fraction)) * 1000, 0),
      pi5: round((g / (PI_PEAK_GFLOPS.pi5 * fraction)) * 1000, 0),
      fractionOfPeakHere: round(fraction, 3),
    };
  }
  const frame = (pi: 'pi4' | 'pi5') => (['ssd', 'landmarks', 'recognition'] as const).reduce((s, n) => s + (ms[n]?.[pi] ?? NaN), 0);
  return {
    estimate: true,
    basis:
      'best case, not measured on a Pi: GFLOP / (the Pi’s FP32 peak from its specification × the fraction of the measured peak the network reaches here); a Pi reaches less of its paper peak than this machine of its measured one',
    peakGflops: PI_PEAK_GFLOPS,
    ms,
    frameOneFaceMs: { pi4: frame('pi4'), pi5: frame('pi5') },
  };
}

/** GFLOP of one inference of each network (one image for detectors, one face otherwise). */
export async function networkGflop(): Promise<Record<Network, number>> {
  const nets: [Exclude<Network, 'blazeface'>, FaceNet, Record<string, number[]>][] = [
    // SSD's size comes from its layout input: count face-api's 512 square.
    ['ssd', 'ssd', { [SSD_NET_INPUT]: [1, 3, 512, 512] }],
    ['landmarks', 'landmarks', { image: [1, 112, 112, 3] }],
    ['recognition', 'recognition', { image: [1, 150, 150, 3] }],
    ['tinyDetector', 'tiny-detector', {}],
  ];
  const out = {} as Record<Network, number>;
  for (const [key, net, shapes] of nets) out[key] = round(countFlops(await faceModelBytes(net), shapes).flops / 1e9, 3);
  // BlazeFace as the bench's video frames (512×512) show it: 256×256.
  const blaze = new Uint8Array(await readFile(await blazeFaceModelPath()));
  out.blazeface = round(countFlops(blaze, { blazeface_net_input: [1, 3, BLAZEFACE_SIDE, BLAZEFACE_SIDE] }).flops / 1e9, 3);
  return out;
}
