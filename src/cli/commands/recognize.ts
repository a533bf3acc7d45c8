// `recognize`: names the faces in image files.
import { commandConfig, COMMON, defineCommand } from '../command.js';

export const recognizeCommand = defineCommand({
  name: 'recognize',
  summary: 'name the faces in images; exit 1 when a file cannot be read',
  usage: 'recognize [--model DIR] [--face-crops] FILE…',
  description: [
    'Names the faces in images. A file that is missing or does not decode is reported in its place,',
    'the others are still named, and the command then exits 1.',
  ].join('\n'),
  options: {
    model: { type: 'string' },
    'face-crops': { type: 'boolean' },
    ...COMMON,
  },
  optionLines: [
    '--model DIR          a bundle, or a model store (its active version); by default model.dir',
    '--face-crops         the images are tight face crops: assume a face if none is found',
  ],
  // recognizeCommand says itself that it needs a file, as it always has.
  positionals: { min: 0, max: Infinity, name: 'FILE' },
  async run(values, files) {
    return (await import('../model-commands.js')).recognizeCommand(
      { config: commandConfig(values.config), json: Boolean(values.json) },
      { model: values.model, files, faceCrops: Boolean(values['face-crops']) },
    );
  },
});
