// The chaos suite at CI's reduced counts (`npm run chaos` runs it whole): every check of issue 16 must hold.
// In `npm run test:slow` (CI runs it): a minute and a half of two cameras analysed while the faults go in.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { chaosTable, REDUCED, runChaos } from '../chaos/run.js';

const ffmpegMissing = spawnSync('ffmpeg', ['-version']).error ? 'ffmpeg is not on the PATH: skipped' : undefined;

t.test(
  'chaos, reduced: hostile bodies, bombs, slow-loris, concurrency, keys, ffmpeg kills, a broker outage, broken bundles, a soak',
  { skip: ffmpegMissing, timeout: 240_000 },
  async (t) => {
    const report = await runChaos(REDUCED, (phase) => t.comment(`chaos: ${phase}`));
    t.comment(`\n${chaosTable(report)}`);
    t.same(report.failures, [], 'every check held');
    t.equal(report.tally.unexpected5xx, 0, 'no 5xx but deliberate 503 with Retry-After');
    t.equal(report.orphans, 0, 'no ffmpeg outlived the daemon');
    t.equal(report.exitCode, 0, 'the daemon exited 0 on SIGTERM');
    t.ok(report.seconds < 180, `bounded in time (${report.seconds} s)`);
  },
);
