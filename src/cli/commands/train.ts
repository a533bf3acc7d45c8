// `train`: builds a model bundle from a folder of photos per actor.
import { fraction, headKind, required, splitFractions } from '../args.js';
import { commandConfig, COMMON, defineCommand } from '../command.js';
import { PHOTO_OPTIONS, photoArgs, photoOptionLines } from './photo-options.js';

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'build a model bundle from a folder of photos per actor',
  usage: 'train --dataset DIR --out DIR [options]',
  description: [
    'Builds a model bundle from a folder of photos per actor (detect, align, embed, fit the head,',
    'calibrate, evaluate on a held-back test split) and prints what it achieved on that split.',
  ].join('\n'),
  options: {
    ...PHOTO_OPTIONS,
    out: { type: 'string' },
    head: { type: 'string' },
    unknown: { type: 'string' },
    'reject-rate': { type: 'string' },
    'equal-error': { type: 'boolean' },
    validation: { type: 'string' },
    test: { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
    ...COMMON,
  },
  optionLines: [
    ...photoOptionLines('the photos drawn, the split and the head'),
    '--out DIR            where the bundle is written',
    '--head ncm|mlp       the classification head (default ncm)',
    '--unknown DIR        photos of people who are not enrolled, to calibrate against',
    "--reject-rate R      calibrate: reject R of each stranger's faces (default 0.85)",
    '--equal-error        calibrate at the equal-error point instead',
    "--validation F       fraction of each actor's photos held back for validation (default 0.2)",
    "--test F             fraction of each actor's photos held back for the test (default 0.2)",
    '--verbose, -v        list the photos left out (copies, no face, …) per actor',
  ],
  positionals: { min: 0, max: 0 },
  async run(values) {
    return (await import('../model-commands.js')).trainCommand(
      { config: commandConfig(values.config), json: Boolean(values.json) },
      {
        ...photoArgs(values),
        out: required('out', values.out),
        head: headKind(values.head),
        unknown: values.unknown,
        rejectRate: fraction('reject-rate', values['reject-rate']),
        equalError: Boolean(values['equal-error']),
        split: splitFractions(values.validation, values.test),
        verbose: Boolean(values.verbose),
      },
    );
  },
});
