// The command line's parsers: each command takes its own options only, has its own help, and a typo gets a suggestion.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { parseCommand, type CommandHost } from '../src/cli/command.js';
import { COMMANDS, dispatch, topHelp } from '../src/cli/dispatch.js';
import { startCommand } from '../src/cli/commands/start.js';
import { isRecognizerError } from '../src/errors.js';
import { closest, didYouMean, editDistance } from '../src/util/did-you-mean.js';
import { cliRun } from './helpers/cli.js';
import { ROOT } from './helpers/datasets.js';

const NAMES = COMMANDS.map((c) => c.name);

/** A host whose daemon must never start: every case below stops at the command line. */
const host = (t: Test): CommandHost => ({
  runDaemon: async () => void t.fail('the daemon was started'),
});

/** No stack trace on stderr: one line, `actor-recognizer: USAGE: …`. */
function oneLine(t: Test, stderr: string): void {
  const lines = stderr.trim().split('\n');
  t.equal(lines.length, 1, `one line on stderr: ${stderr}`);
  t.notMatch(stderr, /^\s+at /m, 'no stack trace');
  t.match(lines[0], /^actor-recognizer: USAGE: /, 'the usage code');
}

t.test('did you mean: the nearest name within three edits', async (t) => {
  t.equal(editDistance('train', 'train'), 0);
  t.equal(editDistance('tran', 'train'), 1);
  t.equal(editDistance('scna', 'scan'), 2);
  t.equal(closest('tran', NAMES), 'train');
  t.equal(closest('recognise', NAMES), 'recognize');
  t.equal(closest('sagemaker-trian', NAMES), 'sagemaker-train');
  t.equal(closest('xyzzy', NAMES), undefined, 'nothing near: no suggestion');
  t.equal(didYouMean('--hed', ['--head', '--out']), ' (did you mean --head?)');
  t.equal(didYouMean('--bogus', ['--head', '--out']), '');
});

t.test("start --head mlp fails with the usage exit code, naming the flag and start's flags", async (t) => {
  const run = await cliRun(['start', '--head', 'mlp']);
  t.equal(run.code, 2, 'the usage exit code');
  oneLine(t, run.stderr);
  t.match(run.stderr, /start takes no option --head/, 'names the flag and the command');
  t.match(run.stderr, /--config, --validate-config, --help-config, --version, --help/, "lists start's own flags");
  t.match(run.stderr, /see actor-recognizer start --help/);
  await t.rejects(dispatch(['--head', 'mlp'], host(t)), /start takes no option --head/, 'without a command, start parses as strictly');
});

t.test("a mistyped flag gets the nearest of the command's own", async (t) => {
  t.throws(
    () => parseCommand('train', COMMANDS.find((c) => c.name === 'train')!.options, ['--hed', 'mlp']),
    /train takes no option --hed \(did you mean --head\?\)/,
  );
  t.throws(() => parseCommand('start', startCommand.options, ['--head', 'mlp']), /start takes no option --head;/, 'never --help for --head');
  t.throws(
    () => parseCommand('scan', COMMANDS.find((c) => c.name === 'scan')!.options, ['--fps']),
    /scan: Option '--fps <value>' argument missing/,
    'a missing value is a usage error too',
  );
});

t.test('every command refuses the options of the others', async (t) => {
  const all = new Set(COMMANDS.flatMap((c) => Object.keys(c.options)));
  for (const command of COMMANDS) {
    for (const option of [...all].filter((o) => !(o in command.options))) {
      const err = await command.run([`--${option}`], host(t)).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (!(isRecognizerError(err, 'USAGE') && err.message.includes(`${command.name} takes no option --${option}`))) {
        t.fail(`${command.name} --${option}: ${String(err)}`);
      }
    }
    t.pass(`${command.name}: every other command's option refused`);
  }
});

t.test("each command's help lists every one of its flags", async (t) => {
  t.same(
    NAMES,
    ['start', 'train', 'eval', 'recognize', 'scan', 'crops', 'cohort', 'sagemaker-train', 'bench', 'publish'],
    'every command of before is still there',
  );
  for (const command of COMMANDS) {
    t.match(command.help, new RegExp(`^Usage: actor-recognizer ${command.name} `), `${command.name}: its usage first`);
    const missing = Object.keys(command.options).filter((o) => !new RegExp(`^  --${o}\\b`, 'm').test(command.help));
    t.same(missing, [], `${command.name}: a help line for each flag`);
    t.match(
      topHelp(),
      new RegExp(`^  ${command.name} +${command.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'),
      `${command.name} in the list of commands`,
    );
  }
});

t.test("actor-recognizer COMMAND --help prints that command's help; a bare --help the list", async (t) => {
  const run = await cliRun(['train', '-h']);
  t.equal(run.code, 0, 'train -h exits 0');
  t.equal(run.stdout, `${COMMANDS.find((c) => c.name === 'train')!.help}\n`, "train -h: the command's own help");
  const top = await cliRun(['--help']);
  t.equal(top.code, 0);
  t.equal(top.stdout, `${topHelp()}\n`, 'the top-level help');
  const version = await cliRun(['--version']);
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  t.equal(version.stdout, `${pkg.version}\n`, '--version still works without a command');
});

t.test('a mistyped command: "did you mean", the commands, the usage exit code', async (t) => {
  const typo = await cliRun(['tran', '--dataset', 'x']);
  t.equal(typo.code, 2);
  oneLine(t, typo.stderr);
  t.match(typo.stderr, /unknown command tran \(did you mean train\?\); the commands: start, train, eval/);
  // The value of --config before the name is not taken for the command.
  await t.rejects(dispatch(['--config', 'nonexistent.yaml', 'scna', 'x.mp4'], host(t)), /unknown command scna \(did you mean scan\?\)/);
  const far = await dispatch(['xyzzy'], host(t)).catch((e: Error) => e.message);
  t.notMatch(far, /did you mean/, 'nothing near: no guess');
  t.match(far, /unknown command xyzzy; the commands: /);
});

t.test('eval refuses the options of its other mode; scan takes one video', async (t) => {
  const eval_ = COMMANDS.find((c) => c.name === 'eval')!;
  await t.rejects(eval_.run(['--footage', 'labels.json', '--dataset', 'photos'], host(t)), /--dataset cannot go with --footage/);
  await t.rejects(eval_.run(['--dataset', 'photos', '--fps', '2'], host(t)), /--fps cannot go with --dataset/);
  await t.rejects(eval_.run(['--dataset', 'photos', '--sides', '512'], host(t)), /--sides cannot go with --dataset/);
  await t.rejects(eval_.run(['--footage', 'labels.json', '--sides', '512,2000'], host(t)), /--sides takes detector sides in pixels, 256 to 1024/);
  const scan = COMMANDS.find((c) => c.name === 'scan')!;
  await t.rejects(scan.run([], host(t)), /scan needs VIDEO/);
  await t.rejects(scan.run(['a.mp4', 'b.mp4'], host(t)), /scan takes one VIDEO, got also b.mp4/);
  await t.rejects(startCommand.run(['now'], host(t)), /start takes no arguments, got now/);
});
