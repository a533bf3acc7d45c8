// `crops`: each actor's aligned face chips as PNG, the training data of training/resnet50.
import { required } from '../args.js';
import { commandConfig, COMMON, defineCommand } from '../command.js';
import { PHOTO_OPTIONS, photoArgs, photoOptionLines } from './photo-options.js';

export const cropsCommand = defineCommand({
  name: 'crops',
  summary: "each actor's aligned face chips as PNG (data for training/resnet50)",
  usage: 'crops --dataset DIR --out DIR [options]',
  description: [
    "Writes each actor's aligned face chips as PNG into OUT/<actor>/, plus OUT/crops.json, choosing",
    "each photo's face as train does: the training data of training/resnet50.",
  ].join('\n'),
  options: {
    ...PHOTO_OPTIONS,
    out: { type: 'string' },
    ...COMMON,
  },
  optionLines: [...photoOptionLines('the photos drawn'), '--out DIR            where the chips are written'],
  positionals: { min: 0, max: 0 },
  async run(values) {
    return (await import('../crops.js')).cropsCommand(
      { config: commandConfig(values.config), json: Boolean(values.json) },
      { ...photoArgs(values), out: required('out', values.out) },
    );
  },
});
