// `bench`: times every stage of the face pipeline on both backends.
import { integer } from '../args.js';
import { commandConfig, COMMON, defineCommand } from '../command.js';

export const benchCommand = defineCommand({
  name: 'bench',
  summary: 'time every stage on both backends (needs the face datasets)',
  usage: 'bench [--iterations N] [--photos N] [options]',
  description: [
    'Times every stage of the face pipeline on both backends (tfjs and onnx), on the same real',
    'images, and each embedder; needs the face datasets ($ACTOR_RECOGNIZER_DATASETS).',
  ].join('\n'),
  options: {
    iterations: { type: 'string' },
    photos: { type: 'string' },
    ...COMMON,
  },
  optionLines: [
    '--iterations N       timed iterations after a warm-up (default 8)',
    '--photos N           photos to time (default 4; 1 also leaves out the video frames)',
  ],
  positionals: { min: 0, max: 0 },
  async run(values) {
    return (await import('../bench.js')).benchCommand(
      { config: commandConfig(values.config), json: Boolean(values.json) },
      { iterations: integer('iterations', values.iterations), photos: integer('photos', values.photos) },
    );
  },
});
