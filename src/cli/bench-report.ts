// The bench's numbers: percentiles per stage, speedups, achieved GFLOP/s, as a table and as JSON.

/** What `bench` can measure; `stages` (with the peak probe and the Pi estimate) unless told otherwise. */
export const BENCH_SECTIONS = ['stages', 'live', 'scan', 'memory'] as const;
export type BenchSection = (typeof BENCH_SECTIONS)[number];

/**
 * Every stage the bench times, in pipeline order; `frame` is a whole image end to end; `detectVideo`
 * a video frame's whole pass where it differs from a photo's (onnx with vision.frameDetector blazeface).
 */
export const STAGES = ['decode', 'detect', 'landmarks', 'align', 'embed', 'classify', 'frame', 'detectTiny', 'detectVideo'] as const;
export type Stage = (typeof STAGES)[number];

/** The networks whose arithmetic we count, and the stage that runs each. */
export const NETWORKS = {
  ssd: 'detect',
  landmarks: 'landmarks',
  recognition: 'embed',
  tinyDetector: 'detectTiny',
  blazeface: 'detectVideo',
} as const satisfies Record<string, Stage>;
export type Network = keyof typeof NETWORKS;

/** One timed call: how long, and over how many faces (per-face stages) or images. */
export interface Sample {
  ms: number;
  /** Faces the call handled (landmarks, align, embed, classify) or 1 (per-image stages). */
  units: number;
}

export interface BackendRun {
  name: string;
  samples: Partial<Record<Stage, Sample[]>>;
  /** Frames per second over the whole-frame loop (wall time, frames one after another). */
  fps: number;
  /** Highest resident set size seen while this backend processed frames. */
  peakRssMb: number;
  /** Event-loop delay while this backend processed frames (perf_hooks.monitorEventLoopDelay). */
  loop: LoopDelay;
  /** How late a 5 ms interval timer fired meanwhile. */
  lag: LoopDelay;
}

export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface StageStats {
  p50Ms: number;
  p95Ms: number;
  /** Median per face, for stages that work per face. */
  perFaceMs?: number;
  n: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const PER_FACE: ReadonlySet<Stage> = new Set(['landmarks', 'align', 'embed', 'classify']);

export function stageStats(stage: Stage, samples: readonly Sample[]): StageStats {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const stats: StageStats = { p50Ms: round(percentile(ms, 50)), p95Ms: round(percentile(ms, 95)), n: ms.length };
  if (PER_FACE.has(stage))
    stats.perFaceMs = round(
      percentile(
        samples.map((s) => s.ms / Math.max(1, s.units)).sort((a, b) => a - b),
        50,
      ),
    );
  return stats;
}

/** Achieved GFLOP/s of a network: its FLOPs times the faces or images handled, over the time taken. */
export function achievedGflops(samples: readonly Sample[] | undefined, flopsPerUnit: number): number | undefined {
  if (!samples?.length) return undefined;
  const ms = samples.reduce((a, s) => a + s.ms, 0);
  const units = samples.reduce((a, s) => a + s.units, 0);
  return round((flopsPerUnit * units) / (ms * 1e6));
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export interface BenchReport {
  backends: Record<string, Partial<Record<Stage, StageStats>>>;
  /** tfjs time over onnx time per stage, summed over the same calls (same images, same faces). */
  speedup: Partial<Record<Stage, number>>;
  fps: Record<string, number>;
  peakRssMb: Record<string, number> & { process: number };
  eventLoopDelayMs: Record<string, LoopDelay>;
  eventLoopLagMs: Record<string, LoopDelay>;
  gflop: Record<Network, number>;
  gflopsAchieved: Record<string, Partial<Record<Network, number>>>;
  /** The machine's peak as measured in the same run (bench-probe.ts), and each network's share of it. */
  peakGflops: number;
  percentOfPeak: Record<string, Partial<Record<Network, number>>>;
  [extra: string]: unknown;
}

export function buildReport(runs: BackendRun[], gflop: Record<Network, number>, peakGflops: number, extra: Record<string, unknown>): BenchReport {
  const backends: BenchReport['backends'] = {};
  const achieved: BenchReport['gflopsAchieved'] = {};
  for (const run of runs) {
    const stats: Partial<Record<Stage, StageStats>> = {};
    for (const stage of STAGES) {
      const samples = run.samples[stage];
      if (samples?.length) stats[stage] = stageStats(stage, samples);
    }
    backends[run.name] = stats;
    achieved[run.name] = {};
    for (const [net, stage] of Object.entries(NETWORKS) as [Network, Stage][]) {
      const g = achievedGflops(run.samples[stage], gflop[net] * 1e9);
      if (g !== undefined) achieved[run.name]![net] = g;
    }
  }
  // Sums rather than medians: per-call times of per-face stages depend on how many faces each image
  // has, and a median of a few calls can land on different images for the two backends.
  const speedup: BenchReport['speedup'] = {};
  const [tfjs, onnx] = [runs.find((r) => r.name === 'tfjs'), runs.find((r) => r.name === 'onnx')];
  const total = (samples: Sample[] | undefined) => samples?.reduce((a, s) => a + s.ms, 0);
  for (const stage of STAGES) {
    const a = total(tfjs?.samples[stage]);
    const b = total(onnx?.samples[stage]);
    if (a !== undefined && b !== undefined && b > 0) speedup[stage] = round(a / b, 1);
  }
  const rss = Object.fromEntries(runs.map((r) => [r.name, r.peakRssMb]));
  return {
    backends,
    speedup,
    fps: Object.fromEntries(runs.map((r) => [r.name, r.fps])),
    peakRssMb: { ...rss, process: round(process.resourceUsage().maxRSS / 1024, 0) },
    eventLoopDelayMs: Object.fromEntries(runs.map((r) => [r.name, r.loop])),
    eventLoopLagMs: Object.fromEntries(runs.map((r) => [r.name, r.lag])),
    gflop,
    gflopsAchieved: achieved,
    peakGflops,
    percentOfPeak: Object.fromEntries(
      Object.entries(achieved).map(([name, nets]) => [
        name,
        Object.fromEntries(Object.entries(nets).map(([net, g]) => [net, peakGflops > 0 ? round((100 * g) / peakGflops, 1) : NaN])),
      ]),
    ),
    ...extra,
  };
}

/** The readable table: one row per stage, p50 / p95 per backend, and the speedup. */
export function formatReport(report: BenchReport): string {
  const names = Object.keys(report.backends);
  const header = ['stage', ...names.flatMap((n) => [`${n} p50 ms`, `${n} p95 ms`]), 'speedup'];
  const rows: string[][] = [];
  for (const stage of STAGES) {
    if (!names.some((n) => report.backends[n]?.[stage])) continue;
    const cells = names.flatMap((n) => {
      const s = report.backends[n]?.[stage];
      return s ? [fmt(s.p50Ms) + (s.perFaceMs !== undefined ? ` (${fmt(s.perFaceMs)}/face)` : ''), fmt(s.p95Ms)] : ['–', '–'];
    });
    const x = report.speedup[stage];
    rows.push([stage, ...cells, x !== undefined ? `${x}×` : '–']);
  }
  const lines = [markdownRow(header), markdownRow(header.map(() => '---')), ...rows.map(markdownRow), ''];
  lines.push(markdownRow(['', ...names]), markdownRow(['---', ...names.map(() => '---')]));
  lines.push(markdownRow(['frames/s', ...names.map((n) => fmt(report.fps[n] ?? NaN))]));
  lines.push(markdownRow(['peak RSS MB (frames)', ...names.map((n) => fmt(report.peakRssMb[n] ?? NaN))]));
  const delays = (d: LoopDelay | undefined) => (d ? `${fmt(d.p50Ms)} / ${fmt(d.p99Ms)} / ${fmt(d.maxMs)}` : '–');
  lines.push(markdownRow(['event-loop delay p50 / p99 / max ms (monitorEventLoopDelay)', ...names.map((n) => delays(report.eventLoopDelayMs[n]))]));
  lines.push(markdownRow(['5 ms timer lateness p50 / p99 / max ms', ...names.map((n) => delays(report.eventLoopLagMs[n]))]));
  for (const net of Object.keys(report.gflop) as Network[]) {
    const cell = (n: string) => `${fmt(report.gflopsAchieved[n]?.[net] ?? NaN)} (${fmt(report.percentOfPeak[n]?.[net] ?? NaN)}% of peak)`;
    lines.push(markdownRow([`${net} GFLOP/s (${fmt(report.gflop[net])} GFLOP)`, ...names.map(cell)]));
  }
  lines.push('', `measured peak ${fmt(report.peakGflops)} GFLOP/s (onnxruntime, matmul and conv probes, same threads, same run)`);
  const quantize = (report['onnx'] as { quantize?: string } | undefined)?.quantize;
  if (quantize === 'detector' || quantize === 'photos-and-second-look') {
    lines.push(
      `onnx's ssd runs int8 (vision.quantize${quantize === 'detector' ? '' : " photos-and-second-look: photos; a video frame's whole pass runs on BlazeFace, or float when vision.frameDetector is ssd, as 'int8 against float' below times it"}): its GFLOP/s are the float network's operations over its time, against the float peak, and the Pi estimate assumes the Pi's int8 kernels gain as much as this CPU's`,
    );
  }
  const pi = report['piEstimate'] as PiLines | undefined;
  if (pi) {
    lines.push(`Raspberry Pi ESTIMATE (${pi.basis}), ms per inference, Pi 4 / Pi 5:`);
    for (const [net, e] of Object.entries(pi.ms)) lines.push(`  ${net.padEnd(14)} ${e.pi4} / ${e.pi5}`);
    lines.push(`  one-face frame  ${pi.frameOneFaceMs.pi4} / ${pi.frameOneFaceMs.pi5}`);
  }
  lines.push('', `process peak RSS ${report.peakRssMb.process} MB`);
  return lines.join('\n');
}

/** What the table reads of bench-probe's PiEstimate (kept structural: the report does not import the probe). */
interface PiLines {
  basis: string;
  ms: Record<string, { pi4: number; pi5: number }>;
  frameOneFaceMs: { pi4: number; pi5: number };
}

function markdownRow(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}
