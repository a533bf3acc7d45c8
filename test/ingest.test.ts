// Ingest with real ffmpeg: frame size and cutting, newest frame wins, restarts, failure, RTSP recovery.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { CameraSource } from '../src/ingest/camera-source.js';
import { ffmpegArgs, parseOutputSize } from '../src/ingest/ffmpeg-args.js';
import { FfmpegProcess } from '../src/ingest/ffmpeg-process.js';
import { TestRtspServer } from './helpers/rtsp-server.js';
import { alive, capturingLogger, fastSupervision, freePort, httpStreamServer, syntheticVideo, until } from './helpers/ingest.js';

t.test('the ffmpeg command line and its output size line', async (t) => {
  const args = ffmpegArgs({ url: 'rtsp://u:p@cam/x', fps: 5, maxWidth: 640 });
  t.match(
    args.join(' '),
    /-rtsp_transport tcp .*-i rtsp:\/\/u:p@cam\/x .*fps=5:round=up,scale=w=trunc\(min\(iw\\,640\)\/2\)\*2:h=-2,scale -pix_fmt rgb24 -f rawvideo pipe:1/,
  );
  t.same(ffmpegArgs({ url: 'a.mp4', fps: 2, maxWidth: 320, loop: true, realtime: true }).slice(5, 10), ['-stream_loop', '-1', '-re', '-i', 'a.mp4']);
  const stderr = `Input #0, mov\n  Stream #0:0[0x1](und): Video: h264 (High), yuv420p, 800x450, 25 fps\nOutput #0, rawvideo, to 'pipe:1':\n  Stream #0:0(und): Video: rawvideo (RGB[24] / 0x18424752), rgb24(pc, gbr/unknown/unknown, progressive), 640x360, q=2-31, 27648 kb/s, 5 fps\n`;
  t.same(parseOutputSize(stderr), { width: 640, height: 360 }, 'the output stream, not the input');
  t.equal(parseOutputSize(stderr.split('Output')[0]!), undefined);
});

t.test("scan's ffmpeg decodes in the gaps: one thread, nice 10, reference frames only; a camera's keeps the defaults", async (t) => {
  const file = await syntheticVideo(320, 240, 2);
  const args = ffmpegArgs({ url: file, fps: 5, maxWidth: 320, background: true });
  t.same(
    args.slice(args.indexOf('-i') - 6, args.indexOf('-i')),
    ['-threads', '1', '-filter_threads', '1', '-skip_frame', 'noref'],
    'one decoding thread, no frame decoded that no other frame needs',
  );
  t.notOk(ffmpegArgs({ url: file, fps: 5, maxWidth: 320 }).includes('-threads'), 'a camera: ffmpeg chooses');
  const priorities: number[] = [];
  for (const background of [true, false]) {
    const ffmpeg = new FfmpegProcess('ffmpeg', { url: file, fps: 5, maxWidth: 320, background }, () => undefined);
    priorities.push(os.getPriority(ffmpeg.pid));
    await ffmpeg.exited;
  }
  t.same(priorities, [os.constants.priority.PRIORITY_BELOW_NORMAL, os.getPriority()], 'nice 10 for scan, our own for a camera');
});

t.test('a frame handed back is filled with a later frame of its size, its pixels replaced', async (t) => {
  const file = await syntheticVideo(320, 240, 2);
  const frames: Uint8Array[] = [];
  const copies: Uint8Array[] = [];
  let ffmpeg: FfmpegProcess | undefined = undefined;
  ffmpeg = new FfmpegProcess('ffmpeg', { url: file, fps: 5, maxWidth: 320, background: true }, (frame) => {
    frames.push(frame.image.data);
    copies.push(frame.image.data.slice());
    // The first frame comes back, and a buffer of another size, which must not be filled.
    if (frames.length === 1) {
      ffmpeg!.recycle(new Uint8Array(10));
      ffmpeg!.recycle(frame.image.data);
    }
  });
  await ffmpeg.exited;
  t.ok(frames.length >= 5, `${frames.length} frames`);
  t.equal(frames[1], frames[0], "the second frame is written into the first one's buffer");
  t.not(frames[2], frames[0], 'a buffer is reused once per hand-back');
  t.ok(
    frames.every((f) => f.length === 320 * 240 * 3),
    'no frame went into the buffer of another size',
  );
  // (Compared as buffers: tap's deep comparison of 230 KB arrays that differ takes minutes.)
  const equal = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
  t.ok(equal(frames[1]!, copies[1]!), "the reused buffer holds the second frame's pixels");
  t.notOk(equal(copies[1]!, copies[0]!), 'the synthetic video changes from frame to frame');
});

/** Every frame of `file` as FfmpegProcess delivers it (copied), and how its run ended. */
async function framesOf(file: string): Promise<Uint8Array[]> {
  const frames: Uint8Array[] = [];
  const ffmpeg = new FfmpegProcess('ffmpeg', { url: file, fps: 5, maxWidth: 320, background: true }, (frame) => frames.push(frame.image.data.slice()));
  await ffmpeg.exited;
  return frames;
}

/** ffmpeg's own output for the same arguments, read whole from its stdout. */
async function ffmpegBytes(file: string): Promise<Buffer> {
  const args = ffmpegArgs({ url: file, fps: 5, maxWidth: 320, background: true });
  const { stdout } = await promisify(execFile)('ffmpeg', args, { encoding: 'buffer', maxBuffer: 64 << 20 });
  return stdout;
}

t.test("frames are ffmpeg's own bytes, read straight into them through a FIFO that leaves nothing behind", async (t) => {
  const file = await syntheticVideo(320, 240, 3);
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'ar-tmpdir-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  t.teardown(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  });
  const frames = await framesOf(file);
  const expected = await ffmpegBytes(file);
  t.equal(frames.length, expected.length / (320 * 240 * 3), `every frame (${frames.length})`);
  t.ok(Buffer.concat(frames).equals(expected), 'byte for byte, in order');
  t.same(await readdir(tmp), [], "the FIFO's folder is gone");
  // Without a temporary folder there is no FIFO: stdout is Node's pipe, and the frames the same.
  process.env.TMPDIR = path.join(tmp, 'missing');
  t.ok(Buffer.concat(await framesOf(file)).equals(expected), 'the same frames through the pipe');
});

t.test('a frame wider than maxWidth is made smaller in YUV, then made RGB as a frame of that size would be', async (t) => {
  const file = await syntheticVideo(640, 480, 1);
  const run = promisify(execFile);
  const frames = Buffer.concat(await framesOf(file));
  // The same two steps apart: the YUV frames made smaller, then those converted at their own size.
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-yuv-'));
  const yuv = path.join(dir, 'small.yuv');
  const quiet = ['-v', 'error', '-threads', '1', '-skip_frame', 'noref'];
  await run('ffmpeg', [...quiet, '-i', file, '-vf', 'fps=5:round=up,scale=320:240', '-pix_fmt', 'yuv420p', '-f', 'rawvideo', yuv]);
  const convert = ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', '320x240', '-i', yuv, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'];
  const { stdout: apart } = await run('ffmpeg', convert, { encoding: 'buffer', maxBuffer: 64 << 20 });
  t.ok(frames.length > 0 && frames.equals(apart), `the same ${frames.length / (320 * 240 * 3)} frames`);
  // One scale doing both gives other bytes (it interpolates the colours while scaling): the test can tell.
  const oneScale = ['-v', 'error', '-threads', '1', '-skip_frame', 'noref', '-i', file, '-vf', 'fps=5:round=up,scale=320:240'];
  const { stdout: single } = await run('ffmpeg', [...oneScale, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'], { encoding: 'buffer', maxBuffer: 64 << 20 });
  t.notOk(single.equals(apart), 'one scale for both differs');
});

t.test('an ffmpeg that cannot even be spawned leaves no FIFO descriptor open', async (t) => {
  const open = () => readdir('/proc/self/fd').then((fds) => fds.length);
  const before = await open();
  for (let i = 0; i < 5; i++)
    t.throws(() => new FfmpegProcess('ff\u0000mpeg', { url: 'a.mp4', fps: 5, maxWidth: 320 }, () => undefined), /null bytes|ERR_INVALID_ARG/);
  t.equal(await open(), before, 'as many descriptors as before');
});

t.test('stop() while paused: nothing more is read, and ffmpeg and the reader end', async (t) => {
  const file = await syntheticVideo(320, 240, 20);
  let frames = 0;
  const ffmpeg = new FfmpegProcess('ffmpeg', { url: file, fps: 5, maxWidth: 320, background: true }, () => {
    frames++;
    ffmpeg.pause();
  });
  t.ok(await until(() => frames > 0, 10_000), 'a first frame');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(frames, 1, 'paused: no frame after the first');
  const started = Date.now();
  const exit = await ffmpeg.stop();
  t.ok(Date.now() - started < 2000, `stopped within the grace period, without SIGKILL (${exit.signal ?? exit.code})`);
  t.notOk(alive(ffmpeg.pid), 'no ffmpeg left');
  t.same(await ffmpeg.stop(), exit, 'stopping again answers the same');
});

t.test('a looped file camera: scaled frames, newest wins, SIGKILL restarts, stop leaves no ffmpeg', async (t) => {
  const file = await syntheticVideo(800, 450, 2);
  const { log } = capturingLogger();
  const camera = new CameraSource('pattern', { url: file, fps: 10, maxWidth: 640, loop: true, realtime: true }, fastSupervision(), log);
  camera.start();
  t.teardown(() => camera.stop());
  const first = await camera.next();
  t.ok(first, 'a frame');
  t.equal(first!.image.width, 640);
  t.equal(first!.image.height, 360, 'aspect kept, even');
  t.equal(first!.image.data.length, 640 * 360 * 3, 'cut by byte count');
  // Busy for a second: frames that arrive meanwhile are dropped, and the next one is fresh.
  await new Promise((r) => setTimeout(r, 1000));
  const fresh = await camera.next();
  t.ok(camera.counters.framesDropped >= 3, `older frames dropped and counted (${camera.counters.framesDropped})`);
  t.ok(Date.now() - fresh!.receivedAt < 250, 'the frame handed on is the newest');
  const pid = camera.pid;
  process.kill(pid!, 'SIGKILL');
  t.ok(await until(() => camera.counters.restarts === 1 && camera.pid !== pid && camera.state === 'running', 5000), 'restarted after SIGKILL');
  t.ok(await camera.next(), 'frames again');
  const last = camera.pid;
  await camera.stop();
  t.notOk(alive(last), 'ffmpeg is gone after stop');
  t.equal(await camera.next(), null, 'next() after stop is null');
});

t.test('a camera that never works is marked failed, and its password never reaches the log', async (t) => {
  const { log, lines } = capturingLogger();
  const states: string[] = [];
  const camera = new CameraSource(
    'broken',
    { url: 'rtsp://admin:hunter2@127.0.0.1:1/stream', fps: 5, maxWidth: 640 },
    fastSupervision({ maxRestarts: 3, failedRetrySeconds: 3600 }),
    log,
    { onState: (s) => states.push(s) },
  );
  camera.start();
  t.teardown(() => camera.stop());
  t.ok(await until(() => camera.state === 'failed', 10_000), 'failed');
  t.equal(camera.counters.restarts, 3);
  t.same(states, ['restarting', 'failed']);
  t.ok(
    lines.some((l) => l.includes('ffmpeg exited') && l.includes('Connection refused')),
    'stderr logged on exit',
  );
  t.notOk(
    lines.some((l) => l.includes('hunter2')),
    'no password in any log line',
  );
});

t.test('a live HTTP source that is cut and comes back: the camera recovers', async (t) => {
  const file = await syntheticVideo(640, 360, 2);
  const port = await freePort();
  let server = httpStreamServer(file, port);
  t.teardown(() => server.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 500));
  const { log } = capturingLogger();
  const camera = new CameraSource('live', { url: `http://127.0.0.1:${port}/live.ts`, fps: 5, maxWidth: 640 }, fastSupervision({ stallSeconds: 8 }), log);
  camera.start();
  t.teardown(() => camera.stop());
  t.ok(await until(() => camera.counters.framesIn >= 5, 15_000), 'frames from the stream');
  server.kill('SIGKILL');
  t.ok(await until(() => camera.state === 'restarting', 8000), 'the cut is noticed');
  const before = camera.counters.framesIn;
  await new Promise((r) => setTimeout(r, 1500));
  server = httpStreamServer(file, port);
  t.ok(await until(() => camera.state === 'running' && camera.counters.framesIn >= before + 5, 20_000), 'frames again after the source came back');
  t.ok(camera.counters.restarts >= 1, `restarted ${camera.counters.restarts} times`);
});

t.test('an RTSP camera (over TCP) that is cut and comes back: the camera recovers', async (t) => {
  const file = await syntheticVideo(640, 360, 2);
  const port = await freePort();
  let server = new TestRtspServer(file, port);
  await server.start();
  t.teardown(() => server.stop());
  const { log, lines } = capturingLogger();
  const camera = new CameraSource(
    'rtsp',
    { url: `rtsp://viewer:s3cret@127.0.0.1:${port}/live`, fps: 5, maxWidth: 640 },
    fastSupervision({ stallSeconds: 4 }),
    log,
  );
  camera.start();
  t.teardown(() => camera.stop());
  t.ok(await until(() => camera.counters.framesIn >= 5, 15_000), 'frames over RTSP');
  t.same(camera.size, { width: 640, height: 360 });
  await server.stop();
  t.ok(await until(() => camera.state === 'restarting', 8000), 'the cut is noticed');
  const before = camera.counters.framesIn;
  await new Promise((r) => setTimeout(r, 1000));
  server = new TestRtspServer(file, port);
  await server.start();
  t.ok(await until(() => camera.state === 'running' && camera.counters.framesIn >= before + 5, 20_000), 'frames again, without restarting anything but ffmpeg');
  t.notOk(
    lines.some((l) => l.includes('s3cret')),
    'the password never reaches the log',
  );
});
