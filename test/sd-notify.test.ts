// sd_notify: the built daemon, started through the exec wrapper, reports to a fake notify socket.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { SdNotify } from '../src/util/sd-notify.js';
import { MAIN } from './helpers/cli.js';
import { ROOT } from './helpers/datasets.js';

const WRAPPER = path.join(ROOT, 'scripts', 'sd-notify-exec.py');

// systemd's side of the protocol: a datagram socket with SO_PASSCRED, so that each message comes
// with the sender's PID, the one fact NotifyAccess=main judges by. One JSON line per datagram.
const LISTENER = `
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print(json.dumps({"listening": True}), flush=True)
while True:
    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = None
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", payload[:12])[0]
    print(json.dumps({"pid": pid, "text": data.decode()}), flush=True)
`;

interface Datagram {
  pid: number | null;
  text: string;
}

function hasPython(): boolean {
  return spawnSync('python3', ['--version']).status === 0;
}

async function startListener(socketPath: string): Promise<{ proc: ChildProcessWithoutNullStreams; messages: Datagram[] }> {
  const proc = spawn('python3', ['-c', LISTENER, socketPath]);
  const messages: Datagram[] = [];
  let buffered = '';
  let ready: () => void = () => undefined;
  const listening = new Promise<void>((resolve) => (ready = resolve));
  proc.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = JSON.parse(buffered.slice(0, i)) as Datagram & { listening?: boolean };
      buffered = buffered.slice(i + 1);
      if (line.listening) ready();
      else messages.push(line);
    }
  });
  await listening;
  return { proc, messages };
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

t.test('without NOTIFY_SOCKET nothing is sent and no timer runs', async (t) => {
  const writes: string[] = [];
  const notify = new SdNotify({ env: { WATCHDOG_USEC: '1000' }, write: (_fd, data) => void writes.push(data.toString()) });
  notify.ready('x');
  notify.stopping();
  t.equal(notify.enabled, false);
  t.same(writes, []);
});

t.test('message format, watchdog interval and WATCHDOG_PID', async (t) => {
  const writes: string[] = [];
  const env = { NOTIFY_SOCKET: '/run/x', NOTIFY_SOCKET_FD: '7', WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' };
  const notify = new SdNotify({ env, pid: 42, write: (fd, data) => void writes.push(`${fd}:${data.toString()}`) });
  t.equal(notify.watchdogIntervalMs(), 15_000, 'half of WATCHDOG_USEC');
  notify.ready('line one\nline two');
  notify.stopping();
  t.same(writes, ['7:READY=1\nSTATUS=line one line two', '7:STOPPING=1'], 'a newline in a status cannot inject a field');
  t.equal(new SdNotify({ env, pid: 43 }).watchdogIntervalMs(), undefined, 'the watchdog belongs to another process');
  const failing = new SdNotify({
    env,
    write: () => {
      throw new Error('ECONNREFUSED');
    },
  });
  t.doesNotThrow(() => failing.ready(), 'a dead notify socket never fails the daemon');
});

t.test(
  'the daemon sends READY=1, WATCHDOG=1 and STOPPING=1 from its main PID',
  { skip: hasPython() ? false : 'python3 is absent: the fake notify socket and the exec wrapper need it' },
  async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-notify-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const socketPath = path.join(dir, 'notify');
    const { proc: listener, messages } = await startListener(socketPath);
    t.teardown(() => void listener.kill('SIGKILL'));
    const daemon = spawn('python3', [WRAPPER, process.execPath, MAIN, 'start'], {
      env: {
        ...process.env,
        NOTIFY_SOCKET: socketPath,
        WATCHDOG_USEC: '400000', // a ping every 200 ms, so the test need not wait long
        ACTOR_RECOGNIZER_API_PORT: '0',
        ACTOR_RECOGNIZER_MQTT_PORT: '0',
        ACTOR_RECOGNIZER_MODEL_DIR: dir,
        ACTOR_RECOGNIZER_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    daemon.stdout.resume();
    daemon.stderr.on('data', (c: Buffer) => void (stderr += c.toString()));
    const exited = once(daemon, 'exit');
    t.teardown(() => void daemon.kill('SIGKILL'));

    const texts = () => messages.map((m) => m.text);
    t.ok(await until(() => texts().some((m) => m.startsWith('READY=1')), 120_000), `READY=1 arrives (stderr: ${stderr.slice(-500)})`);
    const ready = messages.find((m) => m.text.startsWith('READY=1'));
    t.match(ready?.text, /^READY=1\nSTATUS=serving on /, 'with a status line');
    t.equal(ready?.pid, daemon.pid, 'sent by the main PID (the wrapper exec()ed node), as NotifyAccess=main requires');
    t.ok(await until(() => texts().filter((m) => m === 'WATCHDOG=1').length >= 2, 5000), 'WATCHDOG=1 pings repeat');
    t.ok(texts().indexOf('STATUS=starting') < texts().findIndex((m) => m.startsWith('READY=1')), 'STATUS=starting comes first');
    daemon.kill('SIGTERM');
    const [code] = await exited;
    t.equal(code, 0, 'exit 0');
    t.ok(await until(() => texts().some((m) => m.startsWith('STOPPING=1\nSTATUS=stopping on SIGTERM')), 2000), 'STOPPING=1 on SIGTERM');
  },
);

t.test('the wrapper without NOTIFY_SOCKET runs the program untouched', { skip: hasPython() ? false : 'python3 is absent' }, async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env, NOTIFY_SOCKET_FD: '9' };
  delete env.NOTIFY_SOCKET;
  const out = spawnSync('python3', [WRAPPER, process.execPath, '-e', 'process.stdout.write(String(process.env.NOTIFY_SOCKET_FD))'], { env });
  t.equal(out.status, 0);
  t.equal(out.stdout.toString(), 'undefined', 'a stale descriptor number is not passed on');
});
