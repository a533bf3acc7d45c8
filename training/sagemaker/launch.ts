// Starts `actor-recognizer sagemaker-train` as a SageMaker training job on photos in S3, and waits for it.
import {
  CreateTrainingJobCommand,
  DescribeTrainingJobCommand,
  SageMakerClient,
  type Channel,
  type CreateTrainingJobRequest,
  type DescribeTrainingJobResponse,
} from '@aws-sdk/client-sagemaker';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const HELP = `Usage: node dist/training/sagemaker/launch.js --image URI --role ARN --train s3://… --output s3://… [options]

  --image URI            the training image in ECR (built from training/sagemaker/Dockerfile)
  --role ARN             the IAM role SageMaker assumes: reads the photos, writes the output, pulls the image
  --train S3URI          the photos: one folder per actor under this prefix (channel "train")
  --unknown S3URI        faces of people who are not enrolled, for calibration (channel "unknown")
  --output S3URI         where model.tar.gz (the bundle) and output.tar.gz (report, metrics) are written
  --instance-type TYPE   default ml.m5.large: face detection and embedding run on CPU
  --volume-size GB       default 30
  --max-runtime SECONDS  default 7200; SageMaker stops the job after this
  --job-name NAME        default actor-recognizer-YYYYMMDD-HHMMSS
  --region REGION        default: the AWS SDK's (AWS_REGION, the profile)
  --head ncm|mlp, --max-per-actor N, --seed N, --reject-rate R   hyperparameters, as for \`train\`
  --no-wait              print the job name and return once the job is created
  --help                 this text`;

/** The hyperparameters `sagemaker-train` accepts; SageMaker passes them as strings in any case. */
const HYPERPARAMETERS = ['head', 'max-per-actor', 'seed', 'reject-rate'] as const;

function usage(message: string): never {
  process.stderr.write(`launch: ${message} (see --help)\n`);
  process.exit(2);
}

function s3Uri(name: string, value: string | undefined): string {
  if (!value) usage(`--${name} is required`);
  if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(value)) usage(`--${name} takes an s3://BUCKET/PREFIX URI, got ${value}`);
  return value;
}

function wholeNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) usage(`--${name} takes a whole number above 0`);
  return n;
}

function channel(name: string, uri: string): Channel {
  // FullyReplicated: a single instance gets every photo; S3Prefix keeps the folder per actor intact.
  return { ChannelName: name, DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: uri, S3DataDistributionType: 'FullyReplicated' } } };
}

/** Builds the request from the flags, refusing what SageMaker would refuse only after a round trip. */
function trainingJobRequest(argv: string[]): { request: CreateTrainingJobRequest; region?: string; wait: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      image: { type: 'string' },
      role: { type: 'string' },
      train: { type: 'string' },
      unknown: { type: 'string' },
      output: { type: 'string' },
      'instance-type': { type: 'string', default: 'ml.m5.large' },
      'volume-size': { type: 'string' },
      'max-runtime': { type: 'string' },
      'job-name': { type: 'string' },
      region: { type: 'string' },
      head: { type: 'string' },
      'max-per-actor': { type: 'string' },
      seed: { type: 'string' },
      'reject-rate': { type: 'string' },
      'no-wait': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    process.exit(0);
  }
  if (!values.image) usage('--image is required');
  if (!values.role?.startsWith('arn:')) usage('--role takes an IAM role ARN');
  const jobName = values['job-name'] ?? `actor-recognizer-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`;
  if (!/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/.test(jobName)) usage('--job-name: letters, digits and hyphens, at most 63');
  // Checked again, and more strictly, inside the job; unset ones are left to the job's defaults.
  const hyperparameters: Record<string, string> = {};
  for (const key of HYPERPARAMETERS) if (values[key] !== undefined) hyperparameters[key] = values[key];
  const channels = [channel('train', s3Uri('train', values.train))];
  if (values.unknown !== undefined) channels.push(channel('unknown', s3Uri('unknown', values.unknown)));
  const request: CreateTrainingJobRequest = {
    TrainingJobName: jobName,
    // The image's ENTRYPOINT is the entry command; SageMaker appends the argument "train".
    AlgorithmSpecification: { TrainingImage: values.image, TrainingInputMode: 'File' },
    RoleArn: values.role,
    InputDataConfig: channels,
    OutputDataConfig: { S3OutputPath: s3Uri('output', values.output) },
    ResourceConfig: {
      InstanceType: values['instance-type'] as NonNullable<CreateTrainingJobRequest['ResourceConfig']>['InstanceType'],
      InstanceCount: 1,
      VolumeSizeInGB: wholeNumber('volume-size', values['volume-size'], 30),
    },
    StoppingCondition: { MaxRuntimeInSeconds: wholeNumber('max-runtime', values['max-runtime'], 7200) },
    HyperParameters: hyperparameters,
    Tags: [{ Key: 'app', Value: 'actor-recognizer' }],
  };
  return { request, region: values.region, wait: !values['no-wait'] };
}

function describe(job: DescribeTrainingJobResponse): string {
  const last = job.SecondaryStatusTransitions?.at(-1);
  return `${job.TrainingJobStatus}/${job.SecondaryStatus}${last?.StatusMessage ? `: ${last.StatusMessage}` : ''}`;
}

/** Polls until the job ends, printing each change of status; SageMaker has no push notification here. */
async function waitForJob(client: SageMakerClient, name: string): Promise<DescribeTrainingJobResponse> {
  let previous = '';
  for (;;) {
    const job = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    const now = describe(job);
    if (now !== previous) process.stdout.write(`${new Date().toISOString()} ${name}: ${now}\n`);
    previous = now;
    if (job.TrainingJobStatus === 'Completed' || job.TrainingJobStatus === 'Failed' || job.TrainingJobStatus === 'Stopped') return job;
    await sleep(30_000);
  }
}

async function main(): Promise<void> {
  const { request, region, wait } = trainingJobRequest(process.argv.slice(2));
  const client = new SageMakerClient(region ? { region } : {});
  try {
    const created = await client.send(new CreateTrainingJobCommand(request));
    process.stdout.write(`started ${request.TrainingJobName}: ${created.TrainingJobArn}\n`);
    if (!wait) return;
    process.on('SIGINT', () => {
      // Stopping the wait must not look like stopping the job, which goes on (and is billed).
      process.stderr.write(`\nno longer waiting; the job goes on: aws sagemaker stop-training-job --training-job-name ${request.TrainingJobName}\n`);
      process.exit(130);
    });
    const job = await waitForJob(client, request.TrainingJobName!);
    if (job.TrainingJobStatus !== 'Completed') {
      process.stderr.write(`${request.TrainingJobName} ${job.TrainingJobStatus}: ${job.FailureReason ?? 'no reason given'}\n`);
      process.exitCode = 1;
      return;
    }
    const output = `${request.OutputDataConfig?.S3OutputPath?.replace(/\/$/, '')}/${request.TrainingJobName}/output/output.tar.gz`;
    process.stdout.write(
      `model bundle: ${job.ModelArtifacts?.S3ModelArtifacts}\nreport and metrics: ${output}\nbillable seconds: ${job.BillableTimeInSeconds ?? '?'}\n`,
    );
  } finally {
    client.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`launch: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
  process.exit(1);
});
