// `sagemaker-train`: train inside a SageMaker training job, from the job's environment.
import { COMMON, defineCommand } from '../command.js';

export const sagemakerTrainCommand = defineCommand({
  name: 'sagemaker-train',
  summary: 'train inside a SageMaker training job, from its environment',
  usage: 'sagemaker-train [train] [options]',
  description: [
    'Trains inside a SageMaker training job, as train does, reading the job from its environment:',
    'SM_CHANNEL_TRAIN, SM_CHANNEL_UNKNOWN, SM_MODEL_DIR, SM_OUTPUT_DATA_DIR, and SM_HPS',
    '(head, max-per-actor, seed, reject-rate). SageMaker starts the image with the single argument',
    '"train", which is accepted and ignored.',
  ].join('\n'),
  options: {
    'no-cache': { type: 'boolean' },
    ...COMMON,
  },
  optionLines: ['--no-cache           embed every photo again instead of reading the face cache'],
  // sagemakerTrain checks its arguments itself, so that a wrong one reaches the job's failure file.
  positionals: { min: 0, max: Infinity },
  async run(values, positionals) {
    return (await import('../sagemaker.js')).sagemakerTrainCommand({
      configFile: values.config,
      json: Boolean(values.json),
      rest: positionals,
      cache: !values['no-cache'],
    });
  },
});
