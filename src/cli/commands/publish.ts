// `publish`: uploads a bundle to S3 so that devices pick it up.
import { required } from '../args.js';
import { commandConfig, COMMON, defineCommand } from '../command.js';

export const publishCommand = defineCommand({
  name: 'publish',
  summary: 'upload a bundle so that devices pick it up',
  usage: 'publish --model DIR --s3 s3://BUCKET/PREFIX [--endpoint URL] [--region R]',
  description: [
    'Checks a bundle as a device would, uploads its files under PREFIX/VERSION/, then its manifest,',
    'then the pointer PREFIX/latest.json, last; devices polling that prefix pick it up.',
    "Credentials: the AWS SDK's default chain.",
  ].join('\n'),
  options: {
    model: { type: 'string' },
    s3: { type: 'string' },
    endpoint: { type: 'string' },
    region: { type: 'string' },
    ...COMMON,
  },
  optionLines: [
    '--model DIR          the bundle',
    '--s3 URI             s3://BUCKET/PREFIX',
    '--endpoint URL       an S3-compatible server (path-style addressing)',
    "--region R           the bucket's region (default: model.s3.region, then the SDK's)",
  ],
  positionals: { min: 0, max: 0 },
  async run(values) {
    return (await import('../publish.js')).publishCommand(
      { config: commandConfig(values.config), json: Boolean(values.json) },
      { model: required('model', values.model), s3: required('s3', values.s3), endpoint: values.endpoint, region: values.region },
    );
  },
});
