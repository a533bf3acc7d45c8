// `bench`: times every stage of the face pipeline on both backends; live latency, scan speed and memory on request.
import { integer } from '../args.js';
import { BENCH_SECTIONS, type BenchSection } from '../bench-report.js';
import { commandConfig, COMMON, defineCommand, usage } from '../command.js';

export const benchCommand = defineCommand({
  name: 'bench',
  summary: 'time every stage on both backends; live latency, scan speed, memory (needs the face datasets)',
  usage: 'bench [--iterations N] [--photos N] [--live] [--scan] [--memory] [--all] [--quick] [options]',
  description: [
    'Times every stage of the face pipeline on both backends (tfjs and onnx), on the same real',
    "images, and each embedder, next to the machine's measured peak GFLOP/s and a Raspberry Pi",
    'estimate; needs the face datasets ($ACTOR_RECOGNIZER_DATASETS). Sections on request: frame-to-MQTT',
    'latency through a real broker (--live), scan speed as a multiple of real time (--scan), and the',
    "daemon's resident memory with 0, 1 and 2 cameras at 5 fps (--memory).",
  ].join('\n'),
  options: {
    iterations: { type: 'string' },
    photos: { type: 'string' },
    live: { type: 'boolean' },
    scan: { type: 'boolean' },
    memory: { type: 'boolean' },
    'no-stages': { type: 'boolean' },
    all: { type: 'boolean' },
    quick: { type: 'boolean' },
    window: { type: 'string' },
    rounds: { type: 'string' },
    cameras: { type: 'string' },
    against: { type: 'string' },
    'mqtt-url': { type: 'string' },
    ...COMMON,
  },
  optionLines: [
    '--iterations N       timed iterations after a warm-up (default 8)',
    '--photos N           photos to time (default 4; 1 also leaves out the video frames)',
    '--live               frame-to-MQTT latency, one file camera at 5 fps through the embedded broker:',
    '                     talking heads, then a 16:9 film scene with cuts (--quick: one clip)',
    '--mqtt-url URL       --live through this broker instead (e.g. mqtt://127.0.0.1:1883)',
    '--scan               scan speed on every video of the datasets at 5 samples/s',
    '--rounds N           --scan scans every video N times, in turn, and takes the median (default 3;',
    '                     --quick: 1)',
    '--memory             daemon RSS with 0, 1, 2 cameras at 5 fps after warm-up (peak, mean, trend)',
    '--cameras 0,1,2      camera counts for --memory',
    '--against MAIN_JS    --memory also on another build (its dist/src/main.js), interleaved: before/after',
    '--window SECONDS     how long --live and --memory measure (default 60; --quick: 4)',
    '--no-stages          leave out the stage timings (with --live, --scan or --memory)',
    '--all                every section',
    '--quick              short windows, one camera count, one short clip: a smoke run',
  ],
  positionals: { min: 0, max: 0 },
  async run(values, _positionals, host) {
    const sections = new Set<BenchSection>(values.all ? BENCH_SECTIONS : ['stages', ...(['live', 'scan', 'memory'] as const).filter((s) => values[s])]);
    if (values['no-stages']) sections.delete('stages');
    if (sections.size === 0) throw usage('bench --no-stages needs --live, --scan or --memory');
    const cameras = values.cameras?.split(',').map(Number);
    if (cameras && cameras.some((n) => !Number.isInteger(n) || n < 0 || n > 8)) throw usage('--cameras takes camera counts 0 to 8, separated by commas');
    return (await import('../bench.js')).benchCommand(
      { config: commandConfig(values.config), json: Boolean(values.json) },
      {
        iterations: integer('iterations', values.iterations),
        photos: integer('photos', values.photos),
        sections,
        quick: Boolean(values.quick),
        windowSeconds: values.window === undefined ? undefined : windowSeconds(values.window),
        rounds: integer('rounds', values.rounds),
        cameras,
        against: values.against,
        mqttUrl: values['mqtt-url'],
      },
      host,
    );
  },
});

function windowSeconds(value: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n >= 1 && n <= 24 * 3600)) throw usage('--window takes seconds, 1 to 86400');
  return n;
}
