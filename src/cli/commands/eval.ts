// `eval`: scores a model on photos of actors and strangers, or on a labelled video (--footage).
import { detectorSides, faceSizes, positiveNumber, refuseWith, requiredList } from '../args.js';
import { commandConfig, COMMON, defineCommand } from '../command.js';

export const evalCommand = defineCommand({
  name: 'eval',
  summary: 'score a model on photos (--dataset) or on a labelled video (--footage)',
  usage:
    'eval [--model DIR] --dataset DIR [--unknown DIR] [--face-sizes 24,32,48,64]\n   or: actor-recognizer eval [--model DIR] --footage LABELS.json [--video FILE] [--fps N] [--sides 502,512,522]',
  description: [
    "With --dataset: top-1 over the enrolled actors' photos, per actor, and with --unknown the",
    "fraction of unknown people's faces rejected; with --face-sizes, again with each face shrunk to",
    'those heights in a 640×360 frame.',
    "With --footage: who is on screen in a labelled video, through scan's path: precision and recall",
    'per shot and actor, faces by size; with --sides, once per detector side and the mean. One',
    'appearance of a short scene can turn on a 1% change of scale, so compare detectors or settings',
    'over a few sides around the one you run, not on one.',
  ].join('\n'),
  options: {
    model: { type: 'string' },
    dataset: { type: 'string', multiple: true },
    unknown: { type: 'string' },
    'face-sizes': { type: 'string' },
    'no-cache': { type: 'boolean' },
    footage: { type: 'string' },
    video: { type: 'string' },
    fps: { type: 'string' },
    sides: { type: 'string' },
    ...COMMON,
  },
  optionLines: [
    '--model DIR          a bundle, or a model store (its active version); by default model.dir',
    '--dataset DIR        one folder per actor; may repeat',
    '--unknown DIR        photos of people who are not enrolled (any layout)',
    '--face-sizes LIST    face heights in pixels, 8 to 512, separated by commas',
    '--no-cache           embed every photo again instead of reading the face cache',
    '--footage FILE       the labels of a video (JSON): score it instead of photos',
    '--video FILE         the video, when it is not where the labels say (with --footage)',
    '--fps N              frames analysed per second of video (with --footage, default 5)',
    '--sides LIST         with --footage: score at each of these vision.detectorSide values, and the mean',
  ],
  positionals: { min: 0, max: 0 },
  async run(values) {
    const ctx = { config: commandConfig(values.config), json: Boolean(values.json) };
    if (values.footage) {
      refuseWith('--footage', values, ['dataset', 'unknown', 'face-sizes', 'no-cache']);
      return (await import('../footage.js')).footageCommand(ctx, {
        model: values.model,
        labels: values.footage,
        video: values.video,
        fps: positiveNumber('fps', values.fps),
        sides: detectorSides(values.sides),
      });
    }
    refuseWith('--dataset (without --footage)', values, ['video', 'fps', 'sides']);
    return (await import('../model-commands.js')).evalCommand(ctx, {
      model: values.model,
      datasets: requiredList('dataset', values.dataset),
      unknown: values.unknown,
      cache: !values['no-cache'],
      faceSizes: faceSizes(values['face-sizes']),
    });
  },
});
