// `bench`: times every stage of the face pipeline on both backends, on the same real images, in one run.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import type { Config } from '../config/schema.js';
import { RecognizerError } from '../errors.js';
import { HEAD_INPUT, HEAD_OUTPUT, ncmHeadGraph } from '../recognize/ncm-head.js';
import { chipGeometry, cutChip, eyesFromLandmarks } from '../vision/align.js';
import { decodeImage } from '../vision/decode.js';
import { detectOptions, onnxQuantize } from '../vision/create-backend.js';
import { BLAZEFACE_SIDE } from '../vision/onnx/blazeface-graph.js';
import { OnnxFaceBackend, resolveThreads } from '../vision/onnx/onnx-backend.js';
import { FacePipeline } from '../vision/pipeline.js';
import { TfjsFaceBackend } from '../vision/tfjs-backend.js';
import { EMBEDDING_SIZE, type DetectOptions, type FaceBackend, type RgbImage } from '../vision/types.js';
import { benchEmbedders, type BenchFaces } from './bench-embedders.js';
import { benchInt8, formatInt8 } from './bench-int8.js';
import { describeMachine, formatMachine } from './bench-machine.js';
import { datasetsDir, loadBenchInputs, MEMORY_VIDEO, VIDEO, VIDEO_B, type BenchInput } from './bench-inputs.js';
import { benchLive, formatLive } from './bench-live.js';
import { benchMemory, formatMemory } from './bench-memory.js';
import { better, measurePeak, networkGflop, piEstimate } from './bench-probe.js';
import { buildReport, formatReport, round, type BackendRun, type BenchSection, type Sample, type Stage } from './bench-report.js';
import { benchScan, formatScan } from './bench-scan.js';
import type { CommandHost } from './command.js';
import { print } from './common.js';

const DEFAULT_ITERATIONS = 8;
const DEFAULT_PHOTOS = 4;
/** Video frames besides the photos; none for `--photos 1`, the quick smoke run the tests use. */
const VIDEO_FRAMES = 3;
const PROBE_MS = 5;
/** Classes in the in-memory NCM head: the size of a small cast. */
const HEAD_CLASSES = 20;

interface Contender {
  name: 'tfjs' | 'onnx';
  backend: FaceBackend;
  /** A video frame's whole pass runs another network than a photo's (onnx, vision.frameDetector blazeface): timed as detectVideo. */
  videoPass: boolean;
  tiny: FaceBackend;
  pipeline: FacePipeline;
  samples: Partial<Record<Stage, Sample[]>>;
  /** Faces the detector found per input. */
  faces: Map<string, number>;
}

export interface BenchArgs {
  iterations?: number;
  photos?: number;
  sections: ReadonlySet<BenchSection>;
  /** Short windows, one camera count, one short clip: the smoke run the tests use. */
  quick: boolean;
  windowSeconds?: number;
  /** How many times --scan scans every video (default 3; --quick: 1). */
  rounds?: number;
  cameras?: number[];
  against?: string;
  mqttUrl?: string;
}

type Context = { config: Config; json: boolean };

const LIVE_FPS = 5;
const SCAN_FPS = 5;
/** Rounds of --scan: its speed is the median of each video's three scans. */
const SCAN_ROUNDS = 3;
const WINDOW_SECONDS = 60;
const QUICK_WINDOW_SECONDS = 4;

export async function benchCommand(ctx: Context, args: BenchArgs, host: CommandHost): Promise<void> {
  const say = (line: string) => {
    if (!ctx.json) process.stderr.write(`${line}\n`);
  };
  // Figures of one machine say little of another without its vector extensions (docs/benchmarks.md).
  const machine = describeMachine();
  const report: Record<string, unknown> = { machine };
  const text: string[] = [formatMachine(machine)];
  if (args.sections.has('stages')) {
    const stages = await benchStages(ctx, args, say);
    Object.assign(report, stages.report);
    text.push(stages.text);
  }
  const needsVideo = ['live', 'scan', 'memory'].some((s) => args.sections.has(s as BenchSection));
  const videos = path.join(datasetsDir(), 'videos');
  const clip = path.join(videos, VIDEO);
  const memoryClip = path.join(videos, MEMORY_VIDEO);
  const needed = needsVideo ? [clip, ...(args.sections.has('memory') || args.sections.has('live') ? [memoryClip] : [])] : [];
  const missing = needed.find((file) => !existsSync(file));
  if (missing) {
    throw new RecognizerError(
      'DATASET_INVALID',
      `bench --live, --scan and --memory need the videos, and there is no ${missing} (set ACTOR_RECOGNIZER_DATASETS)`,
    );
  }
  const window = args.windowSeconds ?? (args.quick ? QUICK_WINDOW_SECONDS : WINDOW_SECONDS);
  const threads = resolveThreads(ctx.config.vision.threads);
  if (args.sections.has('live')) {
    say(`bench --live: one file camera at ${LIVE_FPS} fps (two talking-head clips joined, looped), ${window} s`);
    const live = await benchLive(ctx.config, host, {
      // --quick: one clip, no re-encoding (its first appearance is a message or two).
      videos: args.quick ? [clip] : [clip, path.join(videos, VIDEO_B)],
      fps: LIVE_FPS,
      windowSeconds: window,
      warmupSeconds: args.quick ? 0 : 2,
      minMessages: args.quick ? 1 : 10,
      mqttUrl: args.mqttUrl,
    });
    report['live'] = live;
    text.push(formatLive(live));
    if (!args.quick) {
      // What a capture box shows: 16:9 with cuts and small faces, whose second look (strips) a frame's events can wait on.
      say(`bench --live: the same with a film scene (${MEMORY_VIDEO}, 16:9, cuts), ${window} s`);
      const film = await benchLive(ctx.config, host, {
        videos: [memoryClip],
        fps: LIVE_FPS,
        windowSeconds: window,
        warmupSeconds: 2,
        minMessages: 10,
        mqttUrl: args.mqttUrl,
      });
      report['liveFilm'] = film;
      text.push(formatLive(film));
    }
  }
  if (args.sections.has('scan')) {
    say(`bench --scan: ${args.quick ? 'one short clip' : 'every video of the datasets'} at ${SCAN_FPS} samples/s`);
    const rounds = args.rounds ?? (args.quick ? 1 : SCAN_ROUNDS);
    const scan = await benchScan(ctx.config, videos, { fps: SCAN_FPS, quick: args.quick, rounds }, say);
    report['scan'] = scan;
    text.push(formatScan(scan));
  }
  if (args.sections.has('memory')) {
    const cameraCounts = args.cameras ?? (args.quick ? [1] : [0, 1, 2]);
    say(`bench --memory: the daemon with ${cameraCounts.join(', ')} camera(s) at ${LIVE_FPS} fps, ${window} s after warm-up`);
    const runs = await benchMemory(
      { cameraCounts, warmupSeconds: args.quick ? 1 : 20, windowSeconds: window, video: memoryClip, fps: LIVE_FPS, threads, against: args.against },
      say,
    );
    report['memory'] = runs;
    text.push(formatMemory(runs));
  }
  print(ctx.json, report, text.join('\n\n'));
}

/** Every stage on both backends, the embedders, and the arithmetic next to the measured peak. */
async function benchStages(ctx: Context, args: BenchArgs, say: (line: string) => void): Promise<{ report: Record<string, unknown>; text: string }> {
  const iterations = args.iterations ?? DEFAULT_ITERATIONS;
  const photos = args.photos ?? DEFAULT_PHOTOS;
  const { vision } = ctx.config;
  const { inputs, datasets, videoSkipped } = await loadBenchInputs(photos, photos === 1 ? 0 : VIDEO_FRAMES);
  say(
    `bench: ${inputs.length} inputs from ${datasets}${videoSkipped ? ` (video frames skipped: ${videoSkipped})` : ''}, ${iterations} iterations after a warm-up`,
  );
  const threads = resolveThreads(vision.threads);
  // The onnx side as the daemon runs it on whole images (a request to /v1/recognize): its SSD int8 with vision.quantize int8
  // or photos-and-second-look (the tiny detector has no int8 form); second-look quantises only the strips of a video frame's
  // second look, which these passes do not take.
  const configured = onnxQuantize(vision);
  const quantize = configured === 'second-look' ? 'none' : configured;
  // The whole image only: the stages compare the backends on the same passes (tiles are the daemon's second look for video).
  const options: DetectOptions = { ...detectOptions(vision), tileZoom: 0 };
  const contenders: Contender[] = [];
  const head = await ort.InferenceSession.create(ncmHeadGraph(randomMeans(HEAD_CLASSES), EMBEDDING_SIZE), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    for (const name of ['tfjs', 'onnx'] as const) {
      const make = (detector: 'ssd' | 'tiny') =>
        name === 'tfjs'
          ? new TfjsFaceBackend({ detector })
          : new OnnxFaceBackend({
              detector,
              intraOpNumThreads: threads,
              quantize: detector === 'ssd' ? quantize : 'none',
              frameDetector: vision.frameDetector,
            });
      const backend = make('ssd');
      const videoPass = name === 'onnx' && vision.frameDetector === 'blazeface';
      const c: Contender = { name, backend, videoPass, tiny: make('tiny'), pipeline: new FacePipeline(backend, options), samples: {}, faces: new Map() };
      contenders.push(c);
      await c.backend.start();
      await c.tiny.start();
    }
    const before = await measurePeak(threads);
    // Stages: backends interleaved per image and iteration, so that load from other processes on a
    // shared machine falls on both alike and the ratios stay fair.
    for (const input of inputs) {
      for (let i = 0; i <= iterations; i++) {
        for (const c of contenders) await timeStages(c, input, options, head, i > 0);
      }
      say(`  ${input.name}: stages timed`);
    }
    // Whole frames: one backend at a time, so that event-loop delay and memory belong to it.
    const runs: BackendRun[] = [];
    for (const c of contenders) {
      runs.push(await timeFrames(c, inputs, iterations, ctx.config.vision.maxPixels, head));
      say(`  ${c.name}: frames timed`);
    }
    // The embedding stage per embedder, on the faces the onnx pipeline found.
    const onnx = contenders.find((c) => c.name === 'onnx')!;
    const faces: BenchFaces[] = [];
    const images: RgbImage[] = [];
    for (const input of inputs) {
      const image = await imageOf(input, ctx.config.vision.maxPixels);
      images.push(image);
      const found = await onnx.backend.detect(image, options);
      if (found.length)
        faces.push({
          image,
          landmarks: await onnx.backend.landmarks(
            image,
            found.map((d) => d.box),
          ),
        });
    }
    const embedders = await benchEmbedders(faces, iterations, threads);
    say('  embedders timed');
    const int8 = await benchInt8(faces, images, iterations, threads, options);
    say('  int8 timed');
    const gflop = await networkGflop();
    // The yardstick, with the stages' thread count, before and after them (the better of the two): the
    // same machine under the same load, as far as a shared machine allows.
    const peak = better(before, await measurePeak(threads));
    say(`  peak: matmul ${peak.matmul.gflops}, conv ${peak.conv.gflops} GFLOP/s`);
    const report = buildReport(runs, gflop, peak.gflops, {
      embedder: vision.embedder,
      embedders,
      int8,
      iterations,
      inputs: inputs.map((i) => i.name),
      faces: Object.fromEntries(contenders[1]!.faces),
      videoSkipped: videoSkipped ?? null,
      onnx: { intraOpNumThreads: threads, cores: os.availableParallelism(), ortVersion: ort.env.versions.common, quantize },
      detector: 'ssd (detectTiny: the Tiny Face Detector at 416)',
      peak,
    });
    report['piEstimate'] = piEstimate(gflop, report.gflopsAchieved['onnx'] ?? {}, peak.gflops);
    const table = formatReport(report);
    const embedderTable = Object.entries(embedders)
      .map(
        ([id, e]) =>
          `  ${id.padEnd(20)} ${String(e.p50MsPerFace).padStart(7)} ms/face (chip ${e.alignMsPerFace}, network ${e.embedMsPerFace})  ${e.costRatio}× face-api-eyes${id === vision.embedder ? '  (configured)' : ''}`,
      )
      .join('\n');
    return {
      report,
      text: `${table}
speedup: tfjs time / onnx time, summed over the same calls; onnx intra-op threads ${threads} on ${os.availableParallelism()} cores; onnx SSD ${ssdPrecision(configured)}${
        contenders.some((c) => c.videoPass)
          ? `
detectVideo: a video frame's whole pass on onnx, BlazeFace at ${BLAZEFACE_SIDE} px on the long side, one thread (vision.frameDetector blazeface; tfjs has no such pass: its frames take detect)`
          : ''
      }
embedding stage per embedder (p50 per face, cost summed against face-api-eyes in the same run):
${embedderTable}
${formatInt8(int8)}`,
    };
  } finally {
    await head.release();
    for (const c of contenders) await Promise.all([c.backend.stop(), c.tiny.stop()]);
  }
}

function record(samples: Partial<Record<Stage, Sample[]>>, stage: Stage, ms: number, units = 1): void {
  (samples[stage] ??= []).push({ ms, units });
}

async function timed<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const t0 = performance.now();
  const value = await fn();
  return [value, performance.now() - t0];
}

async function imageOf(input: BenchInput, maxPixels: number): Promise<RgbImage> {
  return input.kind === 'photo' ? decodeImage(input.bytes, { maxPixels }) : input.image;
}

/** One pass over the stages on one image; the calls are the ones FacePipeline.analyze makes. */
async function timeStages(c: Contender, input: BenchInput, options: DetectOptions, head: ort.InferenceSession, keep: boolean): Promise<void> {
  const samples = keep ? c.samples : {};
  const [image, decodeMs] = await timed(() => imageOf(input, 40_000_000));
  if (input.kind === 'photo') record(samples, 'decode', decodeMs);
  const [found, detectMs] = await timed(() => c.backend.detect(image, options));
  record(samples, 'detect', detectMs);
  record(samples, 'detectTiny', (await timed(() => c.tiny.detect(image, options)))[1]);
  if (c.videoPass && input.kind === 'frame' && c.backend.detectScaled) {
    record(samples, 'detectVideo', (await timed(() => c.backend.detectScaled!(image, 1, { ...options, video: true }, 'frame')))[1]);
  }
  c.faces.set(input.name, found.length);
  if (found.length === 0) return;
  const [marks, landmarksMs] = await timed(() =>
    c.backend.landmarks(
      image,
      found.map((d) => d.box),
    ),
  );
  record(samples, 'landmarks', landmarksMs, found.length);
  const usable = marks.filter((m) => m.length === 68);
  const [chips, alignMs] = await timed(() => usable.map((m) => cutChip(image, chipGeometry(eyesFromLandmarks(m)))));
  record(samples, 'align', alignMs, chips.length);
  const [embeddings, embedMs] = await timed(() => c.backend.embed(chips));
  record(samples, 'embed', embedMs, chips.length);
  record(samples, 'classify', (await timed(() => classify(head, embeddings)))[1], embeddings.length);
}

/** What the bench's onnx SSD runs, in the words of its summary line. */
function ssdPrecision(configured: ReturnType<typeof onnxQuantize>): string {
  if (configured === 'detector') return 'int8 (vision.quantize int8)';
  if (configured === 'photos-and-second-look')
    return "int8 (vision.quantize photos-and-second-look: these images are photos; a video frame's whole pass runs on BlazeFace, timed as detectVideo, or float when vision.frameDetector is ssd)";
  if (configured === 'second-look') return 'float (vision.quantize second-look: the second look of video frames, not timed here, runs int8)';
  return 'float';
}

async function classify(head: ort.InferenceSession, embeddings: Float32Array[]): Promise<number[]> {
  if (embeddings.length === 0) return [];
  const batch = new Float32Array(embeddings.length * EMBEDDING_SIZE);
  embeddings.forEach((e, i) => batch.set(e, i * EMBEDDING_SIZE));
  const out = await head.run({ [HEAD_INPUT]: new ort.Tensor('float32', batch, [embeddings.length, EMBEDDING_SIZE]) });
  const scores = out[HEAD_OUTPUT]!.data as Float32Array;
  const k = scores.length / embeddings.length;
  return embeddings.map((_, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (scores[i * k + j]! > scores[i * k + best]!) best = j;
    return best;
  });
}

/** Decode, analyze and classify whole images back to back, watching the event loop and memory. */
async function timeFrames(c: Contender, inputs: BenchInput[], iterations: number, maxPixels: number, head: ort.InferenceSession): Promise<BackendRun> {
  const frame = async (input: BenchInput) => {
    const faces = await c.pipeline.analyze(await imageOf(input, maxPixels));
    await classify(
      head,
      faces.map((f) => f.embedding),
    );
  };
  for (const input of inputs) await frame(input);
  const delay = monitorEventLoopDelay({ resolution: PROBE_MS });
  // A plain timer as well: how late a 5 ms timer fires is what a request handler waits. It also
  // sees stalls that the histogram above missed in our runs (tfjs's synchronous WebAssembly).
  const lag = createHistogram();
  let last = performance.now();
  const probe = setInterval(() => {
    const now = performance.now();
    lag.record(Math.max(1, Math.round((now - last - PROBE_MS) * 1000)));
    last = now;
  }, PROBE_MS);
  let peakRss = process.memoryUsage().rss;
  const started = performance.now();
  delay.enable();
  for (let i = 0; i < iterations; i++) {
    for (const input of inputs) {
      record(c.samples, 'frame', (await timed(() => frame(input)))[1]);
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
  }
  delay.disable();
  clearInterval(probe);
  const elapsed = performance.now() - started;
  const ms = (ns: number) => round(ns / 1e6);
  return {
    name: c.name,
    samples: c.samples,
    fps: round((iterations * inputs.length * 1000) / elapsed),
    peakRssMb: round(peakRss / 2 ** 20, 0),
    loop: { p50Ms: ms(delay.percentile(50)), p99Ms: ms(delay.percentile(99)), maxMs: ms(delay.max) },
    lag: { p50Ms: round(lag.percentile(50) / 1000), p99Ms: round(lag.percentile(99) / 1000), maxMs: round(lag.max / 1000) },
  };
}

/** Unit-length class means from a fixed seed: the head's cost does not depend on what it knows. */
function randomMeans(classes: number): Float32Array[] {
  let seed = 42;
  const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return Array.from({ length: classes }, () => {
    const v = Float32Array.from({ length: EMBEDDING_SIZE }, next);
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  });
}
