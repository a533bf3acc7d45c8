// `scan`: who is on screen when in a video file, through the live pipeline, as fast as the machine allows.
import { existsSync } from 'node:fs';
import { RecognizerError } from '../errors.js';
import { FfmpegProcess, type Frame } from '../ingest/ffmpeg-process.js';
import { DetectSchedule, type DetectScheduleOptions } from '../track/detect-schedule.js';
import { FrameAnalyzer } from '../track/frame-analyzer.js';
import { ShotDetector } from '../track/shot-detector.js';
import { Tracker, type TrackEvent } from '../track/tracker.js';
import type { FixedModel } from '../recognize/fixed-model.js';
import type { FacePipeline } from '../vision/pipeline.js';
import type { Box } from '../vision/types.js';
import { Progress } from '../util/progress.js';
import { createFacePipeline, detectOptions } from '../vision/create-backend.js';
import { commandModel, print, type CommandContext } from './common.js';

export interface ScanOptions {
  /** A bundle or a model store; by default the configured model.dir (see commandModel). */
  model?: string;
  video: string;
  fps?: number;
  vtt: boolean;
}

/** One stretch of time a person was on screen (CONTRACTS.md: scan). */
export interface Appearance {
  actor: string | null;
  start: number;
  end: number;
  confidence: number;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

export async function scanCommand(context: CommandContext, options: ScanOptions): Promise<void> {
  const { config } = context;
  if (!existsSync(options.video)) throw new RecognizerError('USAGE', `no such video: ${options.video}`);
  const fps = options.fps ?? 5;
  // ffmpeg starts (about 0.1 s to its first frame) while the model and the face networks load.
  const source = new ScanSource({ video: options.video, fps, ffmpegPath: config.ingest.ffmpegPath });
  let models: FixedModel | undefined;
  let pipeline: FacePipeline | undefined;
  try {
    models = await commandModel(config, options.model);
    pipeline = await createFacePipeline(config.vision);
    const detect = detectOptions(config.vision);
    const scanned = await scanVideo(new FrameAnalyzer(pipeline.backend, detect, models, pipeline.embedder.spec), {
      video: options.video,
      fps,
      ffmpegPath: config.ingest.ffmpegPath,
      tracker: new Tracker({ ...config.track, link: pipeline.embedder.tuning.link }),
      schedule: config.track,
      source,
    });
    const result = { duration: scanned.duration, appearances: scanned.appearances.map(({ samples: _, ...a }) => a) };
    if (options.vtt && !context.json) return void process.stdout.write(toVtt(result.appearances));
    const human = result.appearances
      .map((a) => `${a.start.toFixed(1)}–${a.end.toFixed(1)} s  ${a.actor ?? '(unknown)'}  ${a.confidence.toFixed(3)}`)
      .join('\n');
    print(context.json, result, human || 'nobody on screen');
  } finally {
    // A model that failed to load leaves ffmpeg started and unread (stop() after a scan: it has exited).
    await source.ffmpeg.stop();
    await models?.stop();
    await pipeline?.backend.stop();
  }
}

/** An appearance with the frames it was seen in (for the footage evaluation; not printed). */
export interface SampledAppearance extends Appearance {
  samples: { t: number; box: Box }[];
}

/**
 * Frames decoded ahead of the analysis. ffmpeg decodes at low priority in the gaps inference leaves
 * (SourceSpec.background), and frames that need no detection go by at once: three frames ahead ran
 * dry within shots, and the Avengers scene's scan waited for a frame 6–10 times, 113–151 ms in all
 * (about 80 of them ffmpeg's start), against once and 90–95 ms eight frames ahead. Eight frames of
 * 1280×720 (the largest scan decodes) are 22 MB.
 */
const READ_AHEAD = 8;

/**
 * ffmpeg reading a video for {@link scanVideo}, up to {@link READ_AHEAD} frames ahead of it. The scan
 * command starts one before loading its models, so that ffmpeg's start overlaps theirs.
 */
export class ScanSource {
  readonly ffmpeg: FfmpegProcess;
  private readonly queue: Frame[] = [];
  private wake: (() => void) | undefined;
  private done = false;
  /** When next() first gave a frame (performance.now()): `bench --scan` tells a clip's start from its speed. */
  firstFrameAt: number | undefined;

  constructor(options: { video: string; fps: number; ffmpegPath: string; maxWidth?: number }) {
    this.ffmpeg = new FfmpegProcess(
      options.ffmpegPath,
      { url: options.video, fps: options.fps, maxWidth: options.maxWidth ?? 1280, background: true },
      (frame) => {
        this.queue.push(frame);
        if (this.queue.length >= READ_AHEAD) this.ffmpeg.pause();
        this.wake?.();
      },
    );
    void this.ffmpeg.exited.then(() => {
      this.done = true;
      this.wake?.();
    });
  }

  /** The next frame, or undefined once ffmpeg has ended (see `ffmpeg.exited` for how). */
  async next(): Promise<Frame | undefined> {
    for (;;) {
      const frame = this.queue.shift();
      if (frame) {
        this.firstFrameAt ??= performance.now();
        if (this.queue.length < READ_AHEAD - 1) this.ffmpeg.resume();
        return frame;
      }
      if (this.done) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

/**
 * Every frame at `fps` through the shot detector, the detection schedule, the analyzer and the tracker;
 * ffmpeg waits while inference runs. A track never crosses a cut, so an appearance is one person within
 * one shot. A frame the schedule does not detect on shows the faces of the tracks it carries on.
 */
export async function scanVideo(
  analyzer: FrameAnalyzer,
  options: {
    video: string;
    fps: number;
    ffmpegPath: string;
    tracker: Tracker;
    schedule: DetectScheduleOptions;
    maxWidth?: number;
    /** ffmpeg already reading `video` at `fps` (started by the caller); by default started here. */
    source?: ScanSource;
  },
): Promise<{ duration: number; appearances: SampledAppearance[] }> {
  const source = options.source ?? new ScanSource(options);
  const ffmpeg = source.ffmpeg;
  const open = new Map<number, SampledAppearance>();
  const closed: SampledAppearance[] = [];
  // Samples of tracks not yet announced, kept until they are (or dropped when they end unannounced).
  const samples = new Map<number, SampledAppearance['samples']>();
  const shots = new ShotDetector();
  const schedule = new DetectSchedule(options.schedule);
  // The time of the last frame detected with its tiles: tracks seen since are on screen (a face only
  // the tiles find is not looked for on the frames between).
  let lastFull = 0;
  const apply = (events: TrackEvent[]) => {
    for (const e of events) {
      if (e.type === 'appeared')
        open.set(e.trackId, { actor: e.actor, start: e.time, end: e.time, confidence: e.confidence, samples: samples.get(e.trackId) ?? [] });
      const a = open.get(e.trackId);
      if (!a) continue;
      if (e.type === 'identified') a.actor = e.actor;
      if (e.type === 'left') {
        samples.delete(e.trackId);
        a.end = a.start + (e.durationSeconds ?? 0);
        a.confidence = e.bestConfidence ?? e.confidence;
        closed.push(a);
        open.delete(e.trackId);
      }
    }
  };
  let progress: Progress | undefined;
  let last = 0;
  try {
    for (let frame = await source.next(); frame; frame = await source.next()) {
      progress ??= new Progress('scan', Math.max(1, Math.round((ffmpeg.duration ?? 0) * options.fps)));
      const { cut, change, shot, resumes } = shots.observe(frame.image, frame.time);
      const plan = schedule.next({ time: frame.time, cut, change });
      let events: TrackEvent[] = [];
      if (plan !== 'carry') {
        // The faces of the last detection are followed into this frame.
        const { faces, model } = await analyzer.analyze(frame.image, {
          tiles: plan === 'full',
          follow: options.tracker.followed(cut),
          known: options.tracker.settled(frame.time, cut),
        });
        events = options.tracker.update(faces, frame.time, { cut, model, shot, resumes });
        if (plan === 'full') lastFull = frame.time;
      }
      for (const track of options.tracker.seenSince(lastFull)) {
        const list = samples.get(track.id) ?? [];
        list.push({ t: frame.time, box: track.box });
        samples.set(track.id, list);
      }
      apply(events);
      // A track that ended before it was announced (a false detection) will never need its samples.
      for (const id of samples.keys()) if (!options.tracker.has(id)) samples.delete(id);
      last = frame.time;
      progress.tick();
      // Nothing keeps a frame's pixels once it is analysed (tracks keep boxes, the shot detector its own thumbnail).
      ffmpeg.recycle(frame.image.data);
    }
  } catch (err) {
    // A failed analysis ends the scan: ffmpeg, paused with frames waiting or decoding on, must not outlive it.
    await ffmpeg.stop();
    throw err;
  }
  progress?.finish();
  const exit = await ffmpeg.exited;
  if (exit.code !== 0) throw new RecognizerError('VISION_FAILED', `ffmpeg could not read the video: ${exit.stderr.split('\n').pop() ?? ''}`);
  apply(options.tracker.expire(last, true));
  const duration = ffmpeg.duration ?? last;
  const appearances = closed
    .map((a) => ({ actor: a.actor, start: round(a.start), end: round(a.end + 1 / options.fps), confidence: round(a.confidence), samples: a.samples }))
    .sort((a, b) => a.start - b.start);
  return { duration: round(duration), appearances };
}

/** A WebVTT track: one cue per appearance, the actor's name (or "unknown") as its text. */
export function toVtt(appearances: Appearance[]): string {
  const stamp = (s: number) => {
    const ms = Math.round(s * 1000);
    const h = Math.floor(ms / 3_600_000);
    const m = Math.floor(ms / 60_000) % 60;
    const sec = (ms % 60_000) / 1000;
    return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${sec.toFixed(3).padStart(6, '0')}`;
  };
  const cues = appearances.map((a, i) => `${i + 1}\n${stamp(a.start)} --> ${stamp(a.end)}\n${a.actor ?? 'unknown'}\n`);
  return `WEBVTT\n\n${cues.join('\n')}`;
}
