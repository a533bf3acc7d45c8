// `eval --footage`: who-is-on-screen answers of `scan` scored against labels of a video, per shot and per face.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { RecognizerError } from '../errors.js';
import { FrameAnalyzer } from '../track/frame-analyzer.js';
import { readFootageLabels } from '../track/footage-labels.js';
import { scoreFaces, scoreShots, type FaceBandScore, type FrameAnswer, type ShotScore } from '../track/footage-score.js';
import { Tracker } from '../track/tracker.js';
import { createFacePipeline, detectOptions } from '../vision/create-backend.js';
import type { FacePipeline } from '../vision/pipeline.js';
import type { RgbImage } from '../vision/types.js';
import { commandModel, percent, print, type CommandContext } from './common.js';
import { scanVideo } from './scan.js';

export interface FootageOptions {
  /** A bundle or a model store; the configured model.dir when absent. */
  model?: string;
  labels: string;
  /** The video, when it is not where the labels say. */
  video?: string;
  fps?: number;
  /** Score once per detector side (vision.detectorSide) and give the mean: see `eval --help`. */
  sides?: number[];
}

/** `eval --footage --sides`: the report at each detector side, and the means of its scores. */
export interface FootageSidesReport {
  video: string;
  sides: (Pick<FootageReport, 'precision' | 'recall' | 'present' | 'answered' | 'right'> & { side: number })[];
  mean: { precision: number; recall: number };
  min: { precision: number; recall: number };
}

export interface FootageReport extends Omit<ShotScore, 'detail'> {
  video: string;
  fps: number;
  model: { version: string; embedder: string };
  /** Per face of the labelled frames, by face height band. */
  faces: Record<string, FaceBandScore>;
  detail: ShotScore['detail'];
  appearances: { actor: string | null; start: number; end: number; confidence: number }[];
}

export async function footageCommand(context: CommandContext, options: FootageOptions): Promise<void> {
  if (options.sides) return sidesCommand(context, options, options.sides);
  const report = await evaluateFootage(context, options);
  const bands = Object.entries(report.faces)
    .map(
      ([band, f]) =>
        `  faces ${band} px: ${f.faces} labelled, detected ${percent(f.detected)}, named by the frame ${percent(f.namedByFrame)}, by the track ${percent(f.namedByTrack)}; strangers ${f.strangers}, named ${percent(f.strangersNamed)}`,
    )
    .join('\n');
  const shots = report.detail
    .map((d) => `  ${d.start.toFixed(2)}–${d.end.toFixed(2)} s  present: ${d.present.join(', ') || '-'}  answered: ${d.answered.join(', ') || '-'}`)
    .join('\n');
  const actors = Object.entries(report.perActor)
    .map(([a, r]) => `  ${a}: precision ${percent(r.precision)}, recall ${percent(r.recall)} (${r.right} of ${r.present} shots, ${r.answered} answered)`)
    .join('\n');
  print(
    context.json,
    report,
    `${report.video}: ${report.shots} shots, precision ${percent(report.precision)}, recall ${percent(report.recall)} (${report.right} right of ${report.answered} answered, ${report.present} present)\n${actors}\n${bands}\n${shots}` +
      (report.notEnrolled.length ? `\nnot enrolled, not scored: ${report.notEnrolled.join(', ')}` : ''),
  );
}

async function sidesCommand(context: CommandContext, options: FootageOptions, sides: number[]): Promise<void> {
  const runs: FootageSidesReport['sides'] = [];
  let video = '';
  // One pipeline for every side: the side is a detection option, not part of the networks.
  const pipeline = await createFacePipeline(context.config.vision);
  try {
    for (const side of sides) {
      const config = { ...context.config, vision: { ...context.config.vision, detectorSide: side } };
      const r = await evaluateFootage({ ...context, config }, options, pipeline);
      video = r.video;
      runs.push({ side, precision: r.precision, recall: r.recall, present: r.present, answered: r.answered, right: r.right });
    }
  } finally {
    await pipeline.backend.stop();
  }
  const mean = (k: 'precision' | 'recall') => runs.reduce((a, r) => a + r[k], 0) / runs.length;
  const min = (k: 'precision' | 'recall') => Math.min(...runs.map((r) => r[k]));
  const report: FootageSidesReport = {
    video,
    sides: runs,
    mean: { precision: mean('precision'), recall: mean('recall') },
    min: { precision: min('precision'), recall: min('recall') },
  };
  const lines = runs.map(
    (r) =>
      `  side ${r.side}: precision ${percent(r.precision)}, recall ${percent(r.recall)} (${r.right} right of ${r.answered} answered, ${r.present} present)`,
  );
  print(
    context.json,
    report,
    `${video}, ${runs.length} detector sides:\n${lines.join('\n')}\n  mean: precision ${percent(report.mean.precision)}, recall ${percent(report.mean.recall)}; lowest ${percent(report.min.precision)}, ${percent(report.min.recall)}`,
  );
}

/**
 * Runs the video through `scan`'s path (analyzer, shot detector, tracker) and scores it; on `shared`, a
 * pipeline the caller started and stops (its detection options are taken from the configuration here).
 */
export async function evaluateFootage(context: CommandContext, options: FootageOptions, shared?: FacePipeline): Promise<FootageReport> {
  const { config } = context;
  const labels = await readFootageLabels(options.labels, options.video);
  if (!existsSync(labels.video)) throw new RecognizerError('USAGE', `no such video: ${labels.video} (from ${options.labels}; --video to give another)`);
  const models = await commandModel(config, options.model);
  const model = models.current()!;
  const pipeline = shared ?? (await createFacePipeline(config.vision));
  try {
    const fps = options.fps ?? 5;
    const detect = detectOptions(config.vision);
    const analyzer = new FrameAnalyzer(pipeline.backend, detect, models, pipeline.embedder.spec);
    // Labels are in the video's own pixels: scan it unscaled.
    const size = await videoSize(config.ingest.ffmpegPath, labels.video);
    const scanned = await scanVideo(analyzer, {
      video: labels.video,
      fps,
      ffmpegPath: config.ingest.ffmpegPath,
      tracker: new Tracker({ ...config.track, link: analyzer.tuning.link }),
      schedule: config.track,
      maxWidth: size.width,
    });
    const frames: FrameAnswer[] = [];
    for (const frame of labels.frames ?? []) {
      const { faces } = await analyzer.analyze(await frameAt(config.ingest.ffmpegPath, labels.video, frame.t, size));
      frames.push({ t: frame.t, faces: faces.map((f) => ({ box: f.box, actor: f.actor })) });
    }
    const { detail, ...shots } = scoreShots(labels, scanned.appearances, model.actors);
    return {
      video: labels.video,
      fps,
      model: { version: model.version, embedder: pipeline.embedder.spec.id },
      ...shots,
      faces: scoreFaces(labels, frames, scanned.appearances, 1 / fps, model.actors),
      detail,
      appearances: scanned.appearances.map(({ samples: _, ...a }) => a),
    };
  } finally {
    await models.stop();
    if (!shared) await pipeline.backend.stop();
  }
}

const run = promisify(execFile);

/** The video's frame size, from ffmpeg's own description of its first video stream. */
async function videoSize(ffmpegPath: string, video: string): Promise<{ width: number; height: number }> {
  // ffmpeg with no output exits 1 after describing its input: the description is what we want.
  const stderr = await run(ffmpegPath, ['-hide_banner', '-i', video]).then(
    (r) => r.stderr,
    (err: { stderr?: string }) => err.stderr ?? '',
  );
  const match = /Stream #\d+:\d+[^\n]*: Video: [^\n]*?, (\d{2,5})x(\d{2,5})/.exec(stderr);
  if (!match) throw new RecognizerError('VISION_FAILED', `ffmpeg could not say the frame size of ${video}`);
  return { width: Number(match[1]), height: Number(match[2]) };
}

/** The frame shown at `t` seconds (the first at or after it), at the video's own size, as `scan` reads it. */
async function frameAt(ffmpegPath: string, video: string, t: number, { width, height }: { width: number; height: number }): Promise<RgbImage> {
  const { stdout } = await run(ffmpegPath, ['-v', 'error', '-ss', String(t), '-i', video, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
    encoding: 'buffer',
    maxBuffer: width * height * 3 + 1024,
  });
  if (stdout.length !== width * height * 3)
    throw new RecognizerError('VISION_FAILED', `ffmpeg gave ${stdout.length} bytes for the frame at ${t} s of ${video}`);
  return { data: new Uint8Array(stdout.buffer, stdout.byteOffset, stdout.length), width, height };
}
