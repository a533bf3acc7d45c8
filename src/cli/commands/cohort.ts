// `cohort`: embeds the strangers every model is calibrated against.
import { integer, requiredList } from '../args.js';
import { commandConfig, COMMON, defineCommand } from '../command.js';

export const cohortCommand = defineCommand({
  name: 'cohort',
  summary: 'embed the strangers every model is calibrated against',
  usage: 'cohort --dataset DIR [--exclude DIR] [--out FILE] [options]',
  description: [
    'Embeds the strangers every model is calibrated against, into models/cohort/<embedder>.json',
    'by default (npm run build-cohort rebuilds it).',
  ].join('\n'),
  options: {
    dataset: { type: 'string', multiple: true },
    exclude: { type: 'string', multiple: true },
    out: { type: 'string' },
    'max-per-actor': { type: 'string' },
    'no-cache': { type: 'boolean' },
    ...COMMON,
  },
  optionLines: [
    '--dataset DIR        one folder per person; may repeat',
    '--exclude DIR        leave out the people found under DIR (those evaluations hold out); may repeat',
    '--out FILE           where the cohort is written (default models/cohort/<embedder>.json)',
    '--max-per-actor N    at most N photos of each person (default 5)',
    '--no-cache           embed every photo again instead of reading the face cache',
  ],
  positionals: { min: 0, max: 0 },
  async run(values) {
    return (await import('../cohort.js')).cohortCommand(
      { config: commandConfig(values.config), json: Boolean(values.json) },
      {
        datasets: requiredList('dataset', values.dataset),
        exclude: values.exclude ?? [],
        out: values.out,
        maxPerPerson: integer('max-per-actor', values['max-per-actor']) ?? 5,
        cache: !values['no-cache'],
      },
    );
  },
});
