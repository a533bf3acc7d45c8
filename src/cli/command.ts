// One command of the command line: its own options, its own strict parser and its own help.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../events/event-bus.js';
import { RecognizerError } from '../errors.js';
import type { Logger } from '../logger.js';
import { didYouMean } from '../util/did-you-mean.js';

/** The options a command accepts, as node:util parseArgs takes them. */
export type Options = NonNullable<ParseArgsConfig['options']>;

/** What a strict parse of `O` gives: each option typed by its definition. */
export type Values<O extends Options> = ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: true }>>['values'];

/**
 * What the process gives the commands: `start` runs the daemon, whose process lifecycle (signals,
 * hard-exit timer, systemd) belongs to main.ts.
 */
export interface CommandHost {
  runDaemon(configFile: string | undefined): Promise<void>;
  /** A daemon in this process, for `bench --live` (cli may not import the daemon: main.ts hands it down). */
  createDaemon?(config: Config, log: Logger): LiveDaemon;
}

/** The slice of the daemon that `bench --live` drives: its bus carries each event's frame time. */
export interface LiveDaemon {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly mqttUrl: string | undefined;
  readonly liveVideo: { readonly bus: Pick<EventBus, 'on'>; cameras(): { status(): { framesProcessed: number } }[] } | undefined;
}

/** A command as the dispatcher sees it. */
export interface Command {
  readonly name: string;
  /** One line for the list of commands in `actor-recognizer --help`. */
  readonly summary: string;
  readonly options: Options;
  /** `actor-recognizer NAME --help`. */
  readonly help: string;
  /** Parses `argv` (the command line without the command's name) strictly, then runs. */
  run(argv: string[], host: CommandHost): Promise<void>;
}

/** The options several commands share, and their line in each command's help. */
export const CONFIG = { config: { type: 'string' } } as const;
export const JSON_OUTPUT = { json: { type: 'boolean' } } as const;
export const HELP = { help: { type: 'boolean', short: 'h' } } as const;
/** Options of every command but `start`: a config file, JSON output, help. */
export const COMMON = { ...CONFIG, ...JSON_OUTPUT, ...HELP } as const;

const COMMON_LINES: Record<string, string> = {
  config: '--config FILE        YAML or JSON configuration (also ACTOR_RECOGNIZER_CONFIG)',
  json: '--json               print one JSON object as the last line of stdout',
  help: '--help, -h           this text',
};

export interface CommandSpec<O extends Options> {
  name: string;
  summary: string;
  /** The usage line after `actor-recognizer `, e.g. `scan [--model DIR] VIDEO [options]`. */
  usage: string;
  /** What the command does, a few lines. */
  description: string;
  options: O;
  /** One line per option of the command's own (the shared ones are added): `--fps N   why`. */
  optionLines: string[];
  /** Positional arguments: at least `min`, at most `max` (Infinity for a list of files). */
  positionals: { min: number; max: number; name?: string };
  run(values: Values<O>, positionals: string[], host: CommandHost): Promise<void>;
}

/** A usage error: the dispatcher prints it on one line and exits 2. */
export function usage(message: string): RecognizerError {
  return new RecognizerError('USAGE', message);
}

function flag(name: string, options: Options): string {
  const short = options[name]?.short;
  return `--${name}${short ? `/-${short}` : ''}`;
}

/**
 * Parses strictly: an option the command does not take is refused by name, with the nearest one it
 * does take, rather than accepted and ignored (issue 17: `start --head mlp` used to start).
 */
export function parseCommand<O extends Options>(name: string, options: O, argv: string[]): { values: Values<O>; positionals: string[] } {
  const see = `see actor-recognizer ${name} --help`;
  // A lenient pass first, for its tokens: parseArgs's own message for an unknown option tells the
  // user to put it after `--`, which is not what someone who mistyped a flag needs to read.
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name in options) continue;
    // --help is never what a mistyped option meant (`--head` is two edits from it).
    const known = Object.keys(options)
      .filter((o) => o !== 'help')
      .map((o) => `--${o}`);
    throw usage(
      `${name} takes no option ${token.rawName}${didYouMean(token.rawName, known)}; its options: ${Object.keys(options)
        .map((o) => flag(o, options))
        .join(', ')} (${see})`,
    );
  }
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Values<O>, positionals };
  } catch (err) {
    throw usage(`${name}: ${(err as Error).message} (${see})`);
  }
}

function helpText<O extends Options>(spec: CommandSpec<O>): string {
  const common = Object.keys(COMMON_LINES)
    .filter((o) => o in spec.options)
    .map((o) => `  ${COMMON_LINES[o]}`);
  return [`Usage: actor-recognizer ${spec.usage}`, '', spec.description, '', 'Options:', ...spec.optionLines.map((l) => `  ${l}`), ...common].join('\n');
}

/** Builds a command from its spec: parse strictly, answer --help, check the positionals, run. */
export function defineCommand<O extends Options>(spec: CommandSpec<O>): Command {
  const help = helpText(spec);
  return {
    name: spec.name,
    summary: spec.summary,
    options: spec.options,
    help,
    async run(argv, host) {
      const { values, positionals } = parseCommand(spec.name, spec.options, argv);
      if ((values as { help?: boolean }).help) return void process.stdout.write(`${help}\n`);
      const { min, max, name = 'argument' } = spec.positionals;
      const see = `see actor-recognizer ${spec.name} --help`;
      if (positionals.length < min) throw usage(`${spec.name} needs ${name} (${see})`);
      if (positionals.length > max) {
        const extra = positionals.slice(max).join(' ');
        throw usage(
          max === 0
            ? `${spec.name} takes no arguments, got ${extra} (${see})`
            : `${spec.name} takes ${max === 1 ? 'one' : max} ${name}, got also ${extra} (${see})`,
        );
      }
      await spec.run(values, positionals, host);
    },
  };
}

/** The configuration a command runs with: defaults, the file (or $ACTOR_RECOGNIZER_CONFIG), the environment. */
export function commandConfig(file: string | undefined): Config {
  return loadConfig({ file });
}
