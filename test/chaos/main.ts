// `npm run chaos`: the whole chaos run against a daemon on loopback; `--reduced` for CI's counts. Prints one table, exits 1 if a check failed.
import { chaosTable, FULL, REDUCED, runChaos } from './run.js';

const counts = process.argv.includes('--reduced') ? REDUCED : FULL;
const started = Date.now();
const report = await runChaos(counts, (phase) => process.stderr.write(`chaos: ${phase} (${Math.round((Date.now() - started) / 1000)} s)\n`));
process.stdout.write(`${chaosTable(report)}\n`);
process.exitCode = report.failures.length ? 1 : 0;
