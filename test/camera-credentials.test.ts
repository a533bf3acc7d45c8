// Camera credentials never reach ffmpeg's command line: the URL goes through a private input list, deleted once opened.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { CameraSource } from '../src/ingest/camera-source.js';
import { ffmpegArgs, hasCredentials, inputList } from '../src/ingest/ffmpeg-args.js';
import { TestRtspServer } from './helpers/rtsp-server.js';
import { capturingLogger, fastSupervision, freePort, httpStreamServer, syntheticVideo, until } from './helpers/ingest.js';

const ffmpegMissing = spawnSync('ffmpeg', ['-version']).error ? 'ffmpeg is not on the PATH: skipped' : undefined;

/** What `ps` shows of a process: its command line. */
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
/** The input list named on a command line, if any. */
const listOf = (pid: number) => /-i (\S+\.ffconcat)/.exec(cmdline(pid))?.[1];

t.test('the input list: the URL quoted, the protocol options as option lines', async (t) => {
  t.ok(hasCredentials('rtsp://admin:hunter2@cam/x'));
  t.ok(hasCredentials('http://cam/x?token=abc'));
  t.notOk(hasCredentials('rtsp://cam/x'));
  t.equal(
    inputList({ url: "rtsp://a:it's@cam/x", fps: 5, maxWidth: 640 }),
    "ffconcat version 1.0\nfile 'rtsp://a:it'\\''s@cam/x'\noption rtsp_transport tcp\noption timeout 10000000\n",
  );
  const args = ffmpegArgs({ url: 'rtsp://a:b@cam/x', fps: 5, maxWidth: 640 }, { inputList: '/tmp/x/input.ffconcat' }).join(' ');
  t.match(args, /-f concat -safe 0 -protocol_whitelist \S+ -i \/tmp\/x\/input\.ffconcat/);
  t.notMatch(args, /a:b@/);
});

t.test('RTSP and HTTP cameras with passwords: frames flow, and no ffmpeg command line holds the password', { skip: ffmpegMissing }, async (t) => {
  const file = await syntheticVideo(320, 240, 2);
  const rtspPort = await freePort();
  const rtsp = new TestRtspServer(file, rtspPort);
  await rtsp.start();
  t.teardown(() => rtsp.stop());
  const httpPort = await freePort();
  const http = httpStreamServer(file, httpPort);
  t.teardown(() => http.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 500));
  const { log, lines } = capturingLogger();
  for (const url of [`rtsp://viewer:Sup3rSecret@127.0.0.1:${rtspPort}/live`, `http://viewer:Sup3rSecret@127.0.0.1:${httpPort}/live.ts`]) {
    const camera = new CameraSource('secret', { url, fps: 5, maxWidth: 320 }, fastSupervision({ stallSeconds: 8 }), log);
    camera.start();
    t.teardown(() => camera.stop());
    const pid = camera.pid!;
    t.notMatch(cmdline(pid), /Sup3rSecret/, `${url.split(':')[0]}: not on the command line`);
    const list = listOf(pid);
    t.ok(list, 'ffmpeg reads the URL from an input list');
    t.ok(await until(() => camera.counters.framesIn >= 3, 20_000), 'frames flow');
    t.notOk(existsSync(list!), 'the list is deleted once ffmpeg has opened the input');
    // ffmpeg's own HTTP server takes one client: only the RTSP camera is restarted.
    if (url.startsWith('rtsp')) {
      process.kill(camera.pid!, 'SIGKILL');
      t.ok(await until(() => camera.counters.restarts >= 1 && camera.state === 'running', 15_000), 'a restart writes the list again and works');
      t.notMatch(cmdline(camera.pid!), /Sup3rSecret/);
    }
    await camera.stop();
  }
  t.notOk(
    lines.some((l) => l.includes('Sup3rSecret')),
    'nor in any log line',
  );
});
