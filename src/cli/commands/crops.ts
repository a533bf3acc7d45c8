// `crops`: each actor's aligned face chips as PNG, the training data of training/resnet50.
import { integer, required, requiredList } from '../args.js';
import { commandConfig, COMMON, defineCommand } from '../command.js';

export const cropsCommand = defineCommand({
  name: 'crops',
  summary: "each actor's aligned face chips as PNG (data for training/resnet50)",
  usage: 'crops --dataset DIR --out DIR [options]',
  description: [
    "Writes each actor's aligned face chips as PNG into OUT/<actor>/, plus OUT/crops.json, choosing",
    "each photo's face as train does: the training data of training/resnet50.",
  ].join('\n'),
  options: {
    dataset: { type: 'string', multiple: true },
    out: { type: 'string' },
    'max-per-actor': { type: 'string' },
    seed: { type: 'string' },
    'no-cache': { type: 'boolean' },
    ...COMMON,
  },
  optionLines: [
    '--dataset DIR        one folder per actor; may repeat',
    '--out DIR            where the chips are written',
    '--max-per-actor N    at most N photos of each actor',
    '--seed N             seed of the photos drawn (default 1)',
    '--no-cache           embed every photo again instead of reading the face cache',
  ],
  positionals: { min: 0, max: 0 },
  async run(values) {
    return (await import('../crops.js')).cropsCommand(
      { config: commandConfig(values.config), json: Boolean(values.json) },
      {
        datasets: requiredList('dataset', values.dataset),
        out: required('out', values.out),
        maxPerActor: integer('max-per-actor', values['max-per-actor']),
        seed: integer('seed', values.seed),
        cache: !values['no-cache'],
      },
    );
  },
});
