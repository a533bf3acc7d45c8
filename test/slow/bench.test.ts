// The bench command end to end: its JSON shape on both backends (speed is the bench's job, not a test's).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import type { Int8Report } from '../../src/cli/bench-int8.js';
import { MAIN } from '../helpers/cli.js';
import { datasetsMissing } from '../helpers/datasets.js';

const STAGES = ['decode', 'detect', 'landmarks', 'align', 'embed', 'classify', 'frame'];
const missing = datasetsMissing();

if (missing) {
  t.plan(0, missing);
} else {
  t.test('bench --json times every stage on both backends', async (t) => {
    const { stdout } = await promisify(execFile)(process.execPath, [MAIN, 'bench', '--json', '--iterations', '1', '--photos', '2'], {
      maxBuffer: 16 * 1024 * 1024,
      timeout: 120_000,
    });
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '') as {
      backends: Record<string, Record<string, { p50Ms: number; p95Ms: number }>>;
      speedup: Record<string, number>;
      fps: Record<string, number>;
      eventLoopDelayMs: Record<string, { p50Ms: number; p99Ms: number }>;
      gflop: Record<string, number>;
      gflopsAchieved: Record<string, Record<string, number>>;
      int8: Int8Report;
      peakGflops: number;
      peak: { matmul: { gflop: number; gflops: number }; conv: { gflop: number; gflops: number } };
      percentOfPeak: Record<string, Record<string, number>>;
      piEstimate: { estimate: boolean; ms: Record<string, { pi4: number; pi5: number }>; frameOneFaceMs: { pi4: number; pi5: number } };
      machine: { cpu: string; arch: string; cores: number; vector: string[] };
    };
    t.ok(
      report.machine.cpu && report.machine.cores >= 1 && report.machine.arch === process.arch,
      `measured on ${report.machine.cpu}: ${report.machine.vector.join(' ')}`,
    );
    for (const backend of ['tfjs', 'onnx']) {
      for (const stage of STAGES) {
        const s = report.backends[backend]?.[stage];
        t.ok(s && s.p50Ms > 0 && s.p95Ms >= s.p50Ms, `${backend} ${stage}: p50 ${s?.p50Ms} ms, p95 ${s?.p95Ms} ms`);
      }
      t.ok(report.fps[backend]! > 0, `${backend}: frames per second`);
      t.ok(report.eventLoopDelayMs[backend]!.p99Ms > 0, `${backend}: event-loop delay measured`);
      t.ok(report.gflopsAchieved[backend]!['ssd']! > 0, `${backend}: achieved GFLOP/s of the detector`);
    }
    for (const stage of STAGES) t.ok(report.speedup[stage]! > 0, `speedup of ${stage}: ${report.speedup[stage]}`);
    // A video frame's whole pass (the video frames come with --photos 2 and more): BlazeFace on onnx only.
    const video = report.backends['onnx']?.['detectVideo'];
    t.ok(video && video.p50Ms > 0 && video.p95Ms >= video.p50Ms, `onnx detectVideo: p50 ${video?.p50Ms} ms`);
    t.notOk(report.backends['tfjs']?.['detectVideo'], 'tfjs has no BlazeFace pass');
    t.ok(report.gflop['blazeface']! > 0.2 && report.gflop['blazeface']! < 0.6, `blazeface ${report.gflop['blazeface']} GFLOP at 256×256`);
    t.ok(report.gflopsAchieved['onnx']!['blazeface']! > 0, 'achieved GFLOP/s of BlazeFace');
    // MobileNet v1 at 512² with SSD heads is about 6 GFLOP; the descriptor's ResNet about 0.5.
    t.ok(report.gflop['ssd']! > 5 && report.gflop['ssd']! < 8, `ssd ${report.gflop['ssd']} GFLOP`);
    t.ok(report.gflop['recognition']! > 0.3 && report.gflop['recognition']! < 1, `descriptor ${report.gflop['recognition']} GFLOP`);
    const { int8 } = report;
    t.ok(int8.detect.speedup > 0 && int8.embed.speedup > 0, `int8 against float: ssd ${int8.detect.speedup}×, mobilefacenet ${int8.embed.speedup}×`);
    t.ok(int8.boxes.float > 0 && int8.boxes.matched === int8.boxes.float, `the int8 SSD finds the ${int8.boxes.float} faces the float one finds`);
    t.ok(int8.cosine.faces > 0 && int8.cosine.min > 0.9 && int8.cosine.mean < 1, `int8 MobileFaceNet cosine with float: mean ${int8.cosine.mean}`);
    // The probes: 8 × 2·256·512·512 and 4 × 2·64·64·9·56·56 multiply-adds, counted from the graphs.
    t.ok(Math.abs(report.peak.matmul.gflop - 1.074) < 0.01, `matmul probe ${report.peak.matmul.gflop} GFLOP`);
    t.ok(Math.abs(report.peak.conv.gflop - 0.925) < 0.01, `conv probe ${report.peak.conv.gflop} GFLOP`);
    t.equal(report.peakGflops, Math.max(report.peak.matmul.gflops, report.peak.conv.gflops), 'the peak is the better probe');
    const ssdShare = report.percentOfPeak['onnx']!['ssd']!;
    t.ok(ssdShare > 0 && Math.abs(ssdShare - (100 * report.gflopsAchieved['onnx']!['ssd']!) / report.peakGflops) < 0.1, `ssd at ${ssdShare}% of peak`);
    t.equal(report.piEstimate.estimate, true, 'the Pi figures say they are an estimate');
    const ssd = report.piEstimate.ms['ssd']!;
    t.ok(ssd.pi4 > ssd.pi5 && ssd.pi5 > 0, `ssd on a Pi 4 ${ssd.pi4} ms, Pi 5 ${ssd.pi5} ms`);
    t.ok(report.piEstimate.frameOneFaceMs.pi4 > ssd.pi4, 'a frame costs more than its detector');
  });

  t.test('bench --live --scan --memory --quick: latency, scan speed (the median of two rounds) and memory, each sane', async (t) => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [MAIN, 'bench', '--json', '--no-stages', '--live', '--scan', '--rounds', '2', '--memory', '--quick', '--window', '3'],
      { env: { ...process.env, ACTOR_RECOGNIZER_VISION_THREADS: '1' }, maxBuffer: 16 * 1024 * 1024, timeout: 180_000 },
    );
    const report = JSON.parse(stdout.trim().split('\n').pop() ?? '') as {
      live: { n: number; p50Ms: number; p95Ms: number; framesProcessed: number; broker: string };
      scan: {
        realtime: number;
        rounds: number;
        videos: { durationSeconds: number; wallSeconds: number; walls: number[]; firstFrameSeconds: number; realtime: number }[];
      };
      memory: { cameras: number; peakMb: number; meanMb: number; trend: string; samples: number; framesProcessed: number; env: Record<string, string> }[];
      backends?: unknown;
    };
    t.notOk('backends' in report, '--no-stages leaves the stages out');
    const { live, scan, memory } = report;
    t.ok(live.framesProcessed > 0, `${live.framesProcessed} frames analysed`);
    t.ok(live.n >= 1, `${live.n} messages matched to their frames`);
    t.ok(live.p50Ms > 0 && live.p95Ms >= live.p50Ms && live.p95Ms < 60_000, `frame to MQTT p50 ${live.p50Ms} ms, p95 ${live.p95Ms} ms`);
    t.equal(live.broker, 'embedded');
    t.equal(scan.videos.length, 1, 'one short clip in quick mode');
    const v = scan.videos[0]!;
    t.ok(v.durationSeconds > 0 && v.wallSeconds > 0 && Math.abs(v.realtime - v.durationSeconds / v.wallSeconds) < 0.02, `scan ${v.realtime}× real time`);
    t.equal(scan.rounds, 2);
    t.equal(v.walls.length, 2, 'the clip scanned once a round');
    t.ok(v.firstFrameSeconds > 0 && v.firstFrameSeconds < v.wallSeconds, `its first frame ${v.firstFrameSeconds} s into ${v.wallSeconds} s`);
    t.equal(v.wallSeconds, Math.min(...v.walls), `its time the median (nearest rank) of ${v.walls.join(' and ')} s`);
    t.equal(memory.length, 1, 'one camera count in quick mode');
    const m = memory[0]!;
    t.equal(m.cameras, 1);
    t.ok(m.samples >= 2 && m.peakMb >= m.meanMb && m.meanMb > 50 && m.peakMb < 4096, `RSS peak ${m.peakMb} MiB, mean ${m.meanMb} MiB`);
    t.ok(['flat', 'growing', 'falling'].includes(m.trend), `trend ${m.trend}`);
    t.equal(m.env['MALLOC_ARENA_MAX'], '2', "the daemon ran with the systemd unit's malloc settings");
  });
}

t.test('bench without the datasets fails with a clear message', async (t) => {
  const err = await promisify(execFile)(process.execPath, [MAIN, 'bench', '--json'], {
    env: { ...process.env, ACTOR_RECOGNIZER_DATASETS: '/nonexistent/datasets' },
  }).catch((e: unknown) => e as { code: number; stderr: string });
  t.ok('code' in err && err.code !== 0, 'exits non-zero');
  t.match((err as { stderr: string }).stderr, /datasets.*\/nonexistent\/datasets\/faces/, 'names the missing folder');
});
