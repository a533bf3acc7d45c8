// The model commands: train, eval and recognize (CONTRACTS.md, "Command line").
import { readFile } from 'node:fs/promises';
import { Recognizer } from '../recognize/recognizer.js';
import { evaluateModel, type EvalReport } from '../train/evaluate.js';
import { evaluateSizes, type SizeReport } from '../train/evaluate-sizes.js';
import type { DroppedPhoto } from '../train/choose-faces.js';
import { trainModel, type TrainOptions } from '../train/train.js';
import { RecognizerError, isRecognizerError, type ErrorCode } from '../errors.js';
import { commandModel, datasetFaces, percent, print, trainingCohort, type CommandContext } from './common.js';

export async function trainCommand(ctx: CommandContext, args: Omit<TrainOptions, 'embedder'> & { cache: boolean; verbose: boolean }): Promise<void> {
  const { cache, verbose, ...options } = args;
  const { source, embedder } = await datasetFaces(ctx.config, { cache });
  const summary = await trainModel(source, { ...options, embedder, cohort: await trainingCohort(embedder) });
  const { skipped, test, dropped } = summary;
  const lines = [
    `model ${summary.version} written to ${args.out}: ${summary.actors.length} actors from ${summary.images} photos` +
      ` (skipped: ${skipped.noFace} without a face, ${skipped.unreadable} unreadable, ${skipped.duplicates + skipped.nearDuplicates} duplicates, ${skipped.disagreeing} whose faces disagree with the actor's other photos${skipped.tooFewPhotos.length ? `, people without a usable photo: ${skipped.tooFewPhotos.join(', ')}` : ''})`,
    test
      ? `on its test split (photos held back from fitting and calibration): ${percent(test.top1)} of ${test.faces} named correctly (right actor whatever the threshold: ${percent(test.closedSetTop1)}), ${percent(test.impostorsRejected)} of ${test.impostorFaces} faces of actors held out in turn rejected as unknown`
      : 'no test split: no actor has the 5 usable photos it takes to hold some back',
  ];
  if (verbose) lines.push(...droppedLines(dropped));
  else if (dropped.length) lines.push(`${dropped.length} photo${dropped.length === 1 ? '' : 's'} left out (--verbose lists them per actor)`);
  print(
    ctx.json,
    { version: summary.version, actors: summary.actors, images: summary.images, metrics: summary.metrics, skipped, ...(verbose ? { dropped } : {}) },
    lines.join('\n'),
  );
}

const WHY: Record<DroppedPhoto['reason'], string> = {
  duplicate: 'a copy of',
  'near-duplicate': 'a near copy of',
  disagreeing: "its face disagrees with the actor's other photos",
  'no-face': 'no face found',
  unreadable: 'unreadable',
};

/** `train --verbose`: each actor's photos left out, and why (a copy names the photo it repeats). */
function droppedLines(dropped: DroppedPhoto[]): string[] {
  if (dropped.length === 0) return ['no photo left out'];
  const byActor = new Map<string, DroppedPhoto[]>();
  for (const d of dropped) byActor.set(d.actor, [...(byActor.get(d.actor) ?? []), d]);
  return [
    'photos left out, per actor:',
    ...[...byActor].flatMap(([actor, list]) => [`  ${actor}:`, ...list.map((d) => `    ${d.file}: ${WHY[d.reason]}${d.copyOf ? ` ${d.copyOf}` : ''}`)]),
  ];
}

export async function evalCommand(
  ctx: CommandContext,
  args: { model?: string; datasets: string[]; unknown?: string; cache: boolean; faceSizes?: number[] },
): Promise<void> {
  const models = await commandModel(ctx.config, args.model);
  const model = models.current()!;
  const { source, embedder } = await datasetFaces(ctx.config, { cache: args.cache });
  const report: EvalReport & { embedder: string; sizes?: SizeReport } = {
    ...(await evaluateModel(source, model, { datasets: args.datasets, unknown: args.unknown })),
    embedder: embedder.id,
  };
  if (args.faceSizes) report.sizes = await evaluateSizes(source, model, { datasets: args.datasets, unknown: args.unknown, sizes: args.faceSizes });
  const lines = [
    `top-1 ${percent(report.top1)} of ${report.n} photos of enrolled actors (misnamed ${report.errors.misnamed}, rejected as unknown ${report.errors.rejected}; right actor whatever the threshold ${percent(report.closedSetTop1)})`,
    ...Object.entries(report.perActor).map(([actor, r]) => `  ${actor}: ${percent(r.top1)} of ${r.n}`),
  ];
  if (report.notEnrolled.length) lines.push(`not enrolled, not scored: ${report.notEnrolled.join(', ')}`);
  if (report.unknown) lines.push(`unknown people: ${percent(report.unknown.rejected)} of ${report.unknown.n} faces rejected`);
  for (const [size, s] of Object.entries(report.sizes?.known ?? {})) {
    const strangers = report.sizes?.unknown?.[size];
    lines.push(
      `faces ${size} px high in a 640×360 frame: ${s.n} photos, found ${percent(s.detected)}, named ${percent(s.named)}, misnamed ${percent(s.misnamed)}, rejected ${percent(s.rejected)}${strangers ? `; strangers rejected ${percent(strangers.rejected)} of ${Math.round(strangers.n * strangers.detected)} found` : ''}`,
    );
  }
  lines.push(`embedder ${report.embedder}`);
  print(ctx.json, report, lines.join('\n'));
  await models.stop();
}

export async function recognizeCommand(ctx: CommandContext, args: { model?: string; files: string[]; faceCrops: boolean }): Promise<void> {
  if (args.files.length === 0) throw new RecognizerError('USAGE', 'recognize needs at least one image file');
  const models = await commandModel(ctx.config, args.model, { optional: true });
  const model = models.current();
  const { pipeline } = await datasetFaces(ctx.config, { cache: false });
  const recognizer = new Recognizer(pipeline, models, { maxPixels: ctx.config.vision.maxPixels });
  const results = [];
  const lines = [];
  const failed: { file: string; code: ErrorCode; message: string }[] = [];
  for (const file of args.files) {
    try {
      const { faces } = await recognizer.recognizeBytes(await readFile(file), { fallback: args.faceCrops ? 'face-crop' : 'retry' });
      results.push({ file, faces });
      lines.push(`${file}: ${faces.length === 0 ? 'no face' : faces.map((f) => `${f.actor ?? 'unknown'} (${f.confidence.toFixed(2)})`).join(', ')}`);
    } catch (err) {
      // One bad file is reported in its place and the others are still named.
      const unreadable = typeof (err as NodeJS.ErrnoException).errno === 'number';
      if (!isRecognizerError(err) && !unreadable) throw err;
      const error = { code: isRecognizerError(err) ? err.code : ('FILE_UNREADABLE' as const), message: (err as Error).message };
      results.push({ file, faces: [], error });
      failed.push({ file, ...error });
      lines.push(`${file}: ${error.message}`);
    }
  }
  print(ctx.json, { results, model: model ? { version: model.version } : null }, lines.join('\n'));
  await models.stop();
  // Every file is reported above; a file that could not be read still fails the command (CONTRACTS.md).
  const first = failed[0];
  if (first) {
    throw new RecognizerError(
      first.code,
      `${failed.length} of ${args.files.length} file${args.files.length === 1 ? '' : 's'} could not be read: ${failed.map((f) => f.file).join(', ')}`,
    );
  }
}
