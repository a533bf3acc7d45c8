// Cameras are never given up: slow retries for ever, the backoff reset by frames, a restart on request, fpsIn counts every frame.
import { spawnSync } from 'node:child_process';
import { copyFile, chmod, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import t from 'tap';
import { liveRoutes } from '../src/api/live-routes.js';
import { CameraSource } from '../src/ingest/camera-source.js';
import { ffmpegReason } from '../src/ingest/ffmpeg-args.js';
import { EventBus } from '../src/events/event-bus.js';
import type { FrameAnalyzer } from '../src/track/frame-analyzer.js';
import { startWorker } from './helpers/camera-worker.js';
import { capturingLogger, fastSupervision, syntheticVideo, until } from './helpers/ingest.js';

const ffmpegMissing = spawnSync('ffmpeg', ['-version']).error ? 'ffmpeg is not on the PATH: skipped' : undefined;

t.test("ffmpeg's reason: the last meaningful stderr line, without its [proto @ 0x…] prefix", async (t) => {
  t.equal(
    ffmpegReason('[in#0 @ 0x55d] Error opening input: x\n/tmp/nope.mp4: No such file or directory\nError opening input files: No such file or directory\n'),
    '/tmp/nope.mp4: No such file or directory',
  );
  t.equal(
    ffmpegReason(
      '[tcp @ 0x5560a1b2c3d0] Connection to tcp://127.0.0.1:1?timeout=10 failed: Connection refused\nrtsp://u:p@127.0.0.1:1/x: Connection refused\n',
    ),
    'rtsp://u:p@127.0.0.1:1/x: Connection refused',
  );
  t.equal(
    ffmpegReason('[http @ 0xabc] HTTP error 401 Unauthorized\nhttp://cam/x: Server returned 401 Unauthorized (authorization failed)\nConversion failed!\n'),
    'http://cam/x: Server returned 401 Unauthorized (authorization failed)',
  );
  t.equal(ffmpegReason('Input #0, mov\n  Duration: 00:00:02.00\n'), undefined, 'nothing of use');
});

if (ffmpegMissing) {
  t.test('cameras with ffmpeg', { skip: ffmpegMissing }, async () => undefined);
} else {
  t.test('a failed camera is tried again for ever: the missing file appears and frames flow, the reason said meanwhile', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-retry-'));
    const file = path.join(dir, 'later.mp4');
    const { log } = capturingLogger();
    const camera = new CameraSource(
      'later',
      { url: file, fps: 5, maxWidth: 320, loop: true },
      fastSupervision({ maxRestarts: 2, backoffInitialMs: 50, failedRetrySeconds: 1 }),
      log,
    );
    camera.start();
    t.teardown(() => camera.stop());
    t.ok(await until(() => camera.state === 'failed', 10_000), 'failed after its quick restarts');
    t.match(camera.reason, /No such file or directory/, `ffmpeg's own reason: ${camera.reason}`);
    t.match(camera.reason, /trying again every 1 s/);
    await copyFile(await syntheticVideo(320, 240, 2), file);
    t.ok(await until(() => camera.state === 'running' && camera.counters.framesIn > 0, 10_000), 'running again without a restart of anything but ffmpeg');
  });

  t.test('frames reset the backoff: a stream that dies every second is restarted after the first delay each time', async (t) => {
    // An ffmpeg that delivers frames for a second and then dies, as a flaky capture box does.
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-flaky-'));
    const script = path.join(dir, 'flaky-ffmpeg');
    await writeFile(script, '#!/bin/sh\nexec timeout -s KILL 1.5 ffmpeg "$@"\n');
    await chmod(script, 0o755);
    const video = await syntheticVideo(320, 240, 2);
    const { log, lines } = capturingLogger();
    const camera = new CameraSource(
      'flaky',
      { url: video, fps: 5, maxWidth: 320, loop: true, realtime: true },
      fastSupervision({ ffmpegPath: script, backoffInitialMs: 400, backoffMaxMs: 60_000 }),
      log,
    );
    camera.start();
    t.teardown(() => camera.stop());
    const delays = () => lines.filter((l) => l.includes('restarting ffmpeg')).map((l) => (JSON.parse(l) as { delayMs: number }).delayMs);
    t.ok(await until(() => delays().length >= 3, 20_000), `three restarts (${delays().join(', ')} ms)`);
    t.same(delays().slice(0, 3), [400, 400, 400], 'each run delivered frames: the backoff starts over every time');
  });

  t.test('fpsIn counts every frame read, fpsProcessed only the analysed ones; POST /v1/cameras/:id/restart', async (t) => {
    const video = await syntheticVideo(320, 240, 2);
    const { log } = capturingLogger();
    const bus = new EventBus(log);
    const analyzer = { analyze: async () => (await new Promise((r) => setTimeout(r, 1000)), { faces: [] }) } as unknown as FrameAnalyzer;
    const worker = startWorker(t, { id: 'busy', url: video, fps: 10, maxWidth: 320, absentSeconds: 2 }, analyzer, bus, log);
    await new Promise((r) => setTimeout(r, 5500));
    const s = worker.status();
    t.ok(s.fpsIn >= 6, `fpsIn ${s.fpsIn} near the 10 read`);
    t.ok(s.fpsProcessed <= 1.2, `fpsProcessed ${s.fpsProcessed}: one a second`);
    t.ok(s.framesDropped > 0, 'the rest dropped');

    const app = Fastify();
    await app.register(liveRoutes, { cameras: () => [worker], bus, metrics: async () => ({ text: '', contentType: 'text/plain' }) });
    const pid = worker.source.pid;
    const res = await app.inject({ method: 'POST', url: '/v1/cameras/busy/restart' });
    t.equal(res.statusCode, 202);
    t.equal(res.json().id, 'busy');
    t.ok(await until(() => worker.source.pid !== pid && worker.status().state === 'running', 10_000), 'a new ffmpeg, running');
    t.equal((await app.inject({ method: 'POST', url: '/v1/cameras/nope/restart' })).statusCode, 404);
    await app.close();
  });
}
