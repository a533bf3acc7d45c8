// The bench command end to end: its JSON shape on both backends (speed is the bench's job, not a test's).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t from 'tap';
import type { Int8Report } from '../src/cli/bench-int8.js';
import { MAIN } from './helpers/cli.js';
import { datasetsMissing } from './helpers/datasets.js';

const STAGES = ['decode', 'detect', 'landmarks', 'align', 'embed', 'classify', 'frame'];
const missing = datasetsMissing();

if (missing) {
  t.plan(0, missing);
} else {
  t.test('bench --json times every stage on both backends', async (t) => {
    const { stdout } = await promisify(execFile)(process.execPath, [MAIN, 'bench', '--json', '--iterations', '1', '--photos', '1'], {
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
    };
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
    // MobileNet v1 at 512² with SSD heads is about 6 GFLOP; the descriptor's ResNet about 0.5.
    t.ok(report.gflop['ssd']! > 5 && report.gflop['ssd']! < 8, `ssd ${report.gflop['ssd']} GFLOP`);
    t.ok(report.gflop['recognition']! > 0.3 && report.gflop['recognition']! < 1, `descriptor ${report.gflop['recognition']} GFLOP`);
    const { int8 } = report;
    t.ok(int8.detect.speedup > 0 && int8.embed.speedup > 0, `int8 against float: ssd ${int8.detect.speedup}×, mobilefacenet ${int8.embed.speedup}×`);
    t.ok(int8.boxes.float > 0 && int8.boxes.matched === int8.boxes.float, `the int8 SSD finds the ${int8.boxes.float} faces the float one finds`);
    t.ok(int8.cosine.faces > 0 && int8.cosine.min > 0.9 && int8.cosine.mean < 1, `int8 MobileFaceNet cosine with float: mean ${int8.cosine.mean}`);
  });
}

t.test('bench without the datasets fails with a clear message', async (t) => {
  const err = await promisify(execFile)(process.execPath, [MAIN, 'bench', '--json'], {
    env: { ...process.env, ACTOR_RECOGNIZER_DATASETS: '/nonexistent/datasets' },
  }).catch((e: unknown) => e as { code: number; stderr: string });
  t.ok('code' in err && err.code !== 0, 'exits non-zero');
  t.match((err as { stderr: string }).stderr, /datasets.*\/nonexistent\/datasets\/faces/, 'names the missing folder');
});
