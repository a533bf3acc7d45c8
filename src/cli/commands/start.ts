// `start`, the default command: runs the daemon; also the configuration's checks and the version.
import { describeConfig } from '../../config/env.js';
import { redactConfig } from '../../config/schema.js';
import { packageVersion } from '../../version.js';
import { commandConfig, CONFIG, defineCommand, HELP } from '../command.js';

export const startCommand = defineCommand({
  name: 'start',
  summary: 'run the daemon (the default command)',
  usage: 'start [--config FILE] [--validate-config]',
  description: [
    'Runs the daemon: the cameras, the REST API, MQTT and model updates, until SIGTERM or SIGINT.',
    'Its options may also be given without the command: `actor-recognizer --validate-config`.',
    'Any setting can be overridden by an environment variable ACTOR_RECOGNIZER_<PATH>,',
    'e.g. ACTOR_RECOGNIZER_API_PORT=9000.',
  ].join('\n'),
  options: {
    ...CONFIG,
    'validate-config': { type: 'boolean' },
    'help-config': { type: 'boolean' },
    version: { type: 'boolean' },
    ...HELP,
  },
  optionLines: [
    '--validate-config    check the configuration, print the effective one, and exit',
    '--help-config        every setting and its environment variable, bounds and default',
    '--version            the version',
  ],
  positionals: { min: 0, max: 0 },
  async run(values, _positionals, host) {
    if (values['help-config']) return void process.stdout.write(`${describeConfig()}\n`);
    if (values.version) return void process.stdout.write(`${packageVersion()}\n`);
    if (values['validate-config']) {
      const config = commandConfig(values.config);
      process.stdout.write(`configuration is valid\n${JSON.stringify(redactConfig(config), null, 2)}\n`);
      return;
    }
    await host.runDaemon(values.config);
  },
});
