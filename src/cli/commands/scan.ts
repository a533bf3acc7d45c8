// `scan`: who is on screen when in a video file.
import { positiveNumber } from '../args.js';
import { commandConfig, COMMON, defineCommand } from '../command.js';

export const scanCommand = defineCommand({
  name: 'scan',
  summary: 'who is on screen when in a video, as fast as the machine allows',
  usage: 'scan [--model DIR] VIDEO [--fps N] [--vtt]',
  description: [
    'Who is on screen when in a video file, through the live pipeline and tracker, as fast as the',
    'machine allows: one line per appearance (start, end, actor, confidence).',
  ].join('\n'),
  options: {
    model: { type: 'string' },
    fps: { type: 'string' },
    vtt: { type: 'boolean' },
    ...COMMON,
  },
  optionLines: [
    '--model DIR          a bundle, or a model store (its active version); by default model.dir',
    '--fps N              frames analysed per second of video (default 5)',
    '--vtt                print a WebVTT track, one cue per appearance',
  ],
  positionals: { min: 1, max: 1, name: 'VIDEO' },
  async run(values, [video]) {
    return (await import('../scan.js')).scanCommand(
      { config: commandConfig(values.config), json: Boolean(values.json) },
      { model: values.model, video: video!, fps: positiveNumber('fps', values.fps), vtt: Boolean(values.vtt) },
    );
  },
});
