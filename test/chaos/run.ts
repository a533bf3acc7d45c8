// The chaos run: one daemon on loopback through every phase, bounded in count and time, and its table of figures.
import { Tally, percentile } from './client.js';
import { brokenBundles, brokerOutage, cameras, ffmpegKills, soak } from './fault-phases.js';
import { bombs, concurrency, hostileBodies, routeKeyMatrix, slowLoris } from './input-phases.js';
import { SECRETS, Target } from './target.js';

/** How much of each phase: `FULL` for `npm run chaos`, `REDUCED` for CI. */
export interface ChaosCounts {
  hostile: number;
  bombCopies: number;
  slowLoris: number;
  concurrent: number;
  kills: number;
  outageMs: number;
  brokenBundles: number;
  soakMs: number;
  seed: number;
}

export const FULL: ChaosCounts = {
  hostile: 3200,
  bombCopies: 3,
  slowLoris: 200,
  concurrent: 30,
  kills: 30,
  outageMs: 10_000,
  brokenBundles: 7,
  soakMs: 120_000,
  seed: 16,
};
export const REDUCED: ChaosCounts = {
  hostile: 300,
  bombCopies: 2,
  slowLoris: 40,
  concurrent: 30,
  kills: 4,
  outageMs: 3000,
  brokenBundles: 3,
  soakMs: 10_000,
  seed: 16,
};

/** What RSS may grow by while the bombs are in (two decoded at a time, the rest queued). */
export const BOMB_BOUND_MIB = 500;

export interface ChaosReport {
  counts: ChaosCounts;
  seconds: number;
  tally: Tally;
  startMiB: number;
  peakMiB: number;
  bombs: Awaited<ReturnType<typeof bombs>>;
  slow: Awaited<ReturnType<typeof slowLoris>>;
  concurrent: Awaited<ReturnType<typeof concurrency>>;
  matrix: Awaited<ReturnType<typeof routeKeyMatrix>>;
  kills: Awaited<ReturnType<typeof ffmpegKills>>;
  outage: Awaited<ReturnType<typeof brokerOutage>>;
  bundles: Awaited<ReturnType<typeof brokenBundles>>;
  soak: Awaited<ReturnType<typeof soak>>;
  secretsLeaked: string[];
  crashed: boolean;
  exitCode: number | null;
  orphans: number;
  /** What failed of the issue's checks; empty when the run held. */
  failures: string[];
}

export async function runChaos(counts: ChaosCounts, progress: (phase: string) => void = () => undefined): Promise<ChaosReport> {
  const started = Date.now();
  const target = new Target();
  const tally = new Tally();
  try {
    progress('starting the daemon');
    await target.start();
    // Both cameras deliver before the faults begin.
    const ready = Date.now() + 30_000;
    while (Date.now() < ready && (await cameras(target)).filter((c) => c.state === 'running' && c.framesIn > 0).length < 2)
      await new Promise((r) => setTimeout(r, 250));
    const startMiB = target.memory().rssMiB;
    progress('hostile bodies');
    await hostileBodies(target, tally, counts.hostile, counts.seed);
    progress('bombs');
    const bombResult = await bombs(target, tally, counts.bombCopies);
    progress('slow-loris');
    const slow = await slowLoris(target, tally, counts.slowLoris, 12_000);
    progress('concurrency');
    const concurrent = await concurrency(target, tally, counts.concurrent);
    progress('route × key matrix');
    const matrix = await routeKeyMatrix(target, tally);
    progress('ffmpeg kills');
    const kills = await ffmpegKills(target, counts.kills, 15_000);
    progress('broker outage');
    const outage = await brokerOutage(target, counts.outageMs);
    progress('broken bundles');
    const bundles = await brokenBundles(target, tally, counts.brokenBundles);
    progress('soak');
    const soaked = await soak(target, tally, counts.soakMs);
    const peakMiB = target.memory().peakMiB;
    const commandLines = target.ffmpegCommandLines();
    progress('stopping');
    const crashed = target.crashed !== undefined;
    const { exitCode, orphans } = await target.stop();
    const secretsLeaked = Object.entries(SECRETS)
      .filter(([, secret]) => target.lines.some((l) => l.includes(secret)) || commandLines.some((c) => c.includes(secret)))
      .map(([name]) => name);
    const report = {
      counts,
      seconds: Math.round((Date.now() - started) / 1000),
      tally,
      startMiB,
      peakMiB,
      bombs: bombResult,
      slow,
      concurrent,
      matrix,
      kills,
      outage,
      bundles,
      soak: soaked,
      secretsLeaked,
      crashed,
      exitCode,
      orphans,
      failures: [] as string[],
    };
    report.failures = failuresOf(report);
    return report;
  } finally {
    await target.stop().catch(() => undefined);
  }
}

/** The issue's checks: 0 × 5xx, 0 crashes, the bomb bound, 0 failed requests during model faults, every kill recovered, no orphan. */
function failuresOf(r: ChaosReport): string[] {
  const fail: string[] = [];
  if (r.tally.unexpected5xx > 0) fail.push(`${r.tally.unexpected5xx} unexpected 5xx (${r.tally.samples.join('; ')})`);
  if (r.tally.connectionErrors > 0) fail.push(`${r.tally.connectionErrors} requests without an answer (${r.tally.samples.join('; ')})`);
  if (r.crashed) fail.push('the daemon crashed');
  if (r.exitCode !== 0) fail.push(`exit code ${r.exitCode} after SIGTERM`);
  if (r.orphans > 0) fail.push(`${r.orphans} ffmpeg outlived the daemon`);
  if (r.bombs.growthMiB > BOMB_BOUND_MIB) fail.push(`bombs grew RSS by ${r.bombs.growthMiB} MiB (bound ${BOMB_BOUND_MIB})`);
  if (r.slow.closed < r.slow.opened) fail.push(`${r.slow.opened - r.slow.closed} slow connections never closed`);
  if (r.concurrent.ok + r.concurrent.busy < r.counts.concurrent) fail.push('concurrent requests failed');
  if (r.matrix.leaks.length > 0) fail.push(`route × key: ${r.matrix.leaks.slice(0, 5).join('; ')}`);
  if (r.kills.recovered < r.kills.kills) fail.push(`${r.kills.kills - r.kills.recovered} ffmpeg kills not recovered`);
  if (r.outage.reconnectSeconds === null) fail.push('no reconnect after the broker outage');
  if (r.bundles.refused < r.bundles.dropped || r.bundles.failed > 0 || !r.bundles.versionKept)
    fail.push(`model faults: ${r.bundles.refused}/${r.bundles.dropped} refused, ${r.bundles.failed} requests failed`);
  if (r.soak.running < 2) fail.push(`${2 - r.soak.running} camera(s) not running after the soak`);
  if (r.secretsLeaked.length > 0) fail.push(`secrets leaked: ${r.secretsLeaked.join(', ')}`);
  return fail;
}

const s = (seconds: number) => `${seconds.toFixed(2)} s`;

/** The one table the README's reliability section shows. */
export function chaosTable(r: ChaosReport): string {
  const rows: [string, string][] = [
    ['requests, by status', `${r.tally.total}: ${r.tally.summary()}`],
    ['5xx other than 503 + Retry-After; no answer', `${r.tally.unexpected5xx}; ${r.tally.connectionErrors}`],
    ['crashes; exit after SIGTERM; orphan ffmpeg', `${r.crashed ? 1 : 0}; ${r.exitCode}; ${r.orphans}`],
    ['RSS at start, peak (VmHWM)', `${r.startMiB} MiB, ${r.peakMiB} MiB`],
    [
      `bombs (${r.counts.bombCopies} × 6000² PNG, 20000² PNG, 20 MB JSON)`,
      `${r.bombs.answers}; RSS +${r.bombs.growthMiB} MiB (bound ${BOMB_BOUND_MIB}); /healthz max ${r.bombs.healthzMaxMs} ms`,
    ],
    [`hostile bodies (seed ${r.counts.seed})`, `${r.counts.hostile} sent`],
    [`slow-loris (${r.slow.opened} connections)`, `${r.slow.closed} closed by the daemon; /healthz max ${r.slow.healthzMaxMs} ms`],
    [
      `${r.counts.concurrent} images at once`,
      `${r.concurrent.ok} answered, ${r.concurrent.busy} × 503 BUSY, slowest ${r.concurrent.maxMs} ms; /healthz max ${r.concurrent.healthzMaxMs} ms`,
    ],
    [
      'route × key',
      `${r.matrix.routes} routes × ${r.matrix.keys} wrong keys: ${r.matrix.unauthorized} × 401, ${r.matrix.leaks.length} leaks; traversal: ${r.matrix.traversal}`,
    ],
    [
      'ffmpeg SIGKILL, recoveries',
      `${r.kills.recovered}/${r.kills.kills}, p95 ${s(percentile(r.kills.seconds, 95))}, max ${s(Math.max(0, ...r.kills.seconds))}`,
    ],
    [
      `broker outage (${r.counts.outageMs / 1000} s)`,
      `${r.outage.reconnectSeconds === null ? 'no reconnect' : `online again ${s(r.outage.reconnectSeconds)} after the broker`}; ${r.outage.dropped} MQTT messages dropped`,
    ],
    [
      'broken bundles, refusals',
      `${r.bundles.refused}/${r.bundles.dropped} refused; ${r.bundles.failed} of ${r.bundles.requests} requests failed meanwhile; running version kept: ${r.bundles.versionKept ? 'yes' : 'no'}`,
    ],
    [
      `soak (${r.counts.soakMs / 1000} s, 2 cameras)`,
      `RSS ${r.soak.rss[0]} → ${r.soak.rss.at(-1)} MiB (max ${Math.max(...r.soak.rss)}), fds ${r.soak.fds[0]} → ${r.soak.fds.at(-1)}; frames in ${r.soak.frames.in}, analysed ${r.soak.frames.processed}, dropped ${r.soak.frames.dropped}; ${r.soak.running}/2 running; recognize p95 ${Math.round(r.soak.latencyP95Ms)} ms`,
    ],
    ['secrets in logs or ffmpeg command lines', r.secretsLeaked.length ? r.secretsLeaked.join(', ') : 'none'],
  ];
  const lines = ['| what | figure |', '|---|---|', ...rows.map(([a, b]) => `| ${a} | ${b} |`)];
  lines.push('', `${r.seconds} s; ${r.failures.length ? `FAILED: ${r.failures.join(' / ')}` : 'every check held'}`);
  return lines.join('\n');
}
