// The command line's dispatcher: finds the command's name, hands it the rest; the top-level help.
import { parseArgs } from 'node:util';
import { didYouMean } from '../util/did-you-mean.js';
import { packageVersion } from '../version.js';
import { usage, type Command, type CommandHost, type Options } from './command.js';
import { benchCommand } from './commands/bench.js';
import { cohortCommand } from './commands/cohort.js';
import { cropsCommand } from './commands/crops.js';
import { evalCommand } from './commands/eval.js';
import { publishCommand } from './commands/publish.js';
import { recognizeCommand } from './commands/recognize.js';
import { sagemakerTrainCommand } from './commands/sagemaker-train.js';
import { scanCommand } from './commands/scan.js';
import { startCommand } from './commands/start.js';
import { trainCommand } from './commands/train.js';

/** Every command, in the order the help lists them; `start` runs when none is named. */
export const COMMANDS: readonly Command[] = [
  startCommand,
  trainCommand,
  evalCommand,
  recognizeCommand,
  scanCommand,
  cropsCommand,
  cohortCommand,
  sagemakerTrainCommand,
  benchCommand,
  publishCommand,
];

export function topHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return `actor-recognizer ${packageVersion()}: recognizes actors in photos and live video.

Usage: actor-recognizer [command] [options]
       actor-recognizer <command> --help    the command's options

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)} ${c.summary}`).join('\n')}

Options (start's, also without a command):
  --config FILE        YAML or JSON configuration (also ACTOR_RECOGNIZER_CONFIG)
  --validate-config    check the configuration, print the effective one, and exit
  --help               this text;  --help-config: every setting and its environment variable
  --version            the version
Every command but start also takes --json: print one JSON object as the last line of stdout.

--model DIR (eval, recognize, scan): a bundle, or a model store (its active version);
by default model.dir, the daemon's own model (the starter model while it holds none).

Any setting can be overridden by an environment variable ACTOR_RECOGNIZER_<PATH>,
e.g. ACTOR_RECOGNIZER_API_PORT=9000.`;
}

/**
 * Where the command's name is in argv: the first positional, reading every command's options so that
 * the value of `--config FILE` before the name is not taken for it (`--config f.yaml train …`).
 */
function findName(argv: string[]): { name: string; index: number } | undefined {
  const options: Options = {};
  for (const command of COMMANDS) Object.assign(options, command.options);
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  const first = tokens.find((t) => t.kind === 'positional' || t.kind === 'option-terminator');
  return first?.kind === 'positional' ? { name: first.value, index: first.index } : undefined;
}

/** Runs the command named in argv (start when none is), each with its own strict parser. */
export async function dispatch(argv: string[], host: CommandHost): Promise<void> {
  const found = findName(argv);
  if (!found) {
    // No command: `--help` is the top-level help; anything else is start's.
    if (argv.includes('--help') || argv.includes('-h')) return void process.stdout.write(`${topHelp()}\n`);
    return startCommand.run(argv, host);
  }
  const command = COMMANDS.find((c) => c.name === found.name);
  if (!command) {
    const names = COMMANDS.map((c) => c.name);
    throw usage(`unknown command ${found.name}${didYouMean(found.name, names)}; the commands: ${names.join(', ')} (see --help)`);
  }
  return command.run(
    argv.filter((_, i) => i !== found.index),
    host,
  );
}
