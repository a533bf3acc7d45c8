// The systemd unit: `systemd-analyze verify` accepts it, and it says what the daemon relies on.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ROOT } from './helpers/datasets.js';

const UNIT = path.join(ROOT, 'systemd', 'actor-recognizer.service');
const INSTALL_DIR = '/opt/actor-recognizer';
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const NO_ANALYZE = 'systemd-analyze is absent (Debian: apt-get install systemd; .ci/run does this)';

/** The unit's settings as key -> values, comments and section headers dropped. */
function settings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

async function verify(t: Test, text: string): Promise<{ status: number | null; stderr: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-unit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'actor-recognizer.service');
  await writeFile(file, text);
  const out = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 60_000 });
  // verify also loads the system's own units; only complaints about ours count.
  const ours = out.stderr
    .split('\n')
    .filter((l) => l.includes('actor-recognizer'))
    .join('\n');
  return { status: out.status, stderr: ours };
}

t.test('systemd-analyze verify passes, without a warning about the unit', { skip: hasAnalyze ? false : NO_ANALYZE }, async (t) => {
  const { status, stderr } = await verify(t, await readFile(UNIT, 'utf8'));
  t.equal(stderr, '', 'no warning names the unit');
  t.equal(status, 0, 'exit 0');
});

t.test('verify would catch a broken unit (the check above can fail)', { skip: hasAnalyze ? false : NO_ANALYZE }, async (t) => {
  const text = await readFile(UNIT, 'utf8');
  const missing = await verify(t, text.replace('ExecStart=/usr/bin/python3', 'ExecStart=/nonexistent/python3'));
  t.not(missing.status, 0, 'a missing ExecStart binary fails');
  const typo = await verify(t, text.replace('WatchdogSec=', 'WatchdogSecs='));
  t.match(typo.stderr, /Unknown key/, 'a misspelt key is reported');
});

t.test('the unit asks for what the daemon does and needs', async (t) => {
  const s = settings(await readFile(UNIT, 'utf8'));
  const one = (key: string) => s.get(key)?.at(-1);
  t.equal(one('Type'), 'notify');
  t.equal(one('NotifyAccess'), 'main', 'the exec wrapper keeps node the main PID');
  t.equal(one('Restart'), 'on-failure');
  t.equal(one('KillMode'), 'mixed', 'node stops its own ffmpeg children');
  t.ok(Number.parseInt(one('TimeoutStopSec') ?? '0', 10) > 8, "longer than the daemon's 8 s hard-exit timer");
  t.ok(Number.parseInt(one('WatchdogSec') ?? '0', 10) >= 10, 'a watchdog, not so tight that a busy Pi trips it');
  t.equal(one('StateDirectory'), 'actor-recognizer');
  t.equal(one('ConfigurationDirectory'), 'actor-recognizer');
  t.ok(s.get('Environment')?.includes('ACTOR_RECOGNIZER_MODEL_DIR=/var/lib/actor-recognizer/models'), 'models live in the state directory');
  for (const [key, value] of Object.entries({
    NoNewPrivileges: 'yes',
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    CapabilityBoundingSet: '',
    AmbientCapabilities: '',
    DevicePolicy: 'closed',
    RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6',
  })) {
    t.equal(one(key), value, `${key}=${value}`);
  }
  t.ok(s.get('DeviceAllow')?.includes('/dev/video0 rw'));
  t.ok(s.get('SupplementaryGroups')?.includes('video'));
  t.notOk(s.has('MemoryDenyWriteExecute'), "V8's JIT writes code pages; MDWE would abort node");
  t.notOk(s.has('DynamicUser'), 'a fixed user, so that /etc/actor-recognizer can be group-readable to it alone');
});

t.test("ExecStart's files exist in the package, at the paths the unit names", async (t) => {
  const exec = settings(await readFile(UNIT, 'utf8')).get('ExecStart')?.[0] ?? '';
  const inPackage = exec.split(/\s+/).filter((word) => word.startsWith(`${INSTALL_DIR}/`));
  t.ok(inPackage.length >= 2, 'the wrapper and main.js');
  for (const file of inPackage) {
    t.ok(existsSync(path.join(ROOT, file.slice(INSTALL_DIR.length + 1))), `${file} is built or shipped`);
  }
});

t.test('the sandbox scores "OK" or better in systemd-analyze security', { skip: hasAnalyze ? false : NO_ANALYZE }, async (t) => {
  // The unit scores 1.6 of 10 on systemd 252; 2.0 leaves room for other versions' weights. Keeping
  // capabilities alone scores 3.6; the settings that weigh less are pinned one by one above.
  // --offline (systemd 250+) judges the file, not a running unit.
  const out = spawnSync('systemd-analyze', ['security', '--offline=true', '--threshold=20', UNIT], { encoding: 'utf8', timeout: 60_000 });
  if (/unrecognized option|unknown option/i.test(out.stderr)) {
    t.pass('skipped: this systemd-analyze has no --offline (systemd < 250)');
    return;
  }
  const score = /Overall exposure level for \S+: ([\d.]+)/.exec(out.stdout)?.[1];
  t.equal(out.status, 0, `exposure ${score ?? '?'} is at most 2.0`);
});
