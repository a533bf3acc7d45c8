// The built daemon as a process: starts on its defaults, answers, and stops cleanly on a signal.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import t from 'tap';
import { MAIN, spawnDaemon as startDaemon } from './helpers/cli.js';
import { ROOT } from './helpers/datasets.js';

t.test('SIGTERM and SIGINT stop the daemon with exit code 0', async (t) => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const empty = await mkdtemp(path.join(os.tmpdir(), 'ar-nomodel-'));
    const { child, url, lines } = await startDaemon({ ACTOR_RECOGNIZER_MODEL_DIR: empty, ACTOR_RECOGNIZER_API_API_KEY: 'a-secret-key-1234' });
    const health = await fetch(`${url}/healthz`);
    t.equal(health.status, 200, `${signal}: healthy`);
    t.equal((await fetch(`${url}/v1/model`)).status, 401, 'the key is required');
    const exited = once(child, 'exit');
    child.kill(signal);
    const [code] = await exited;
    t.equal(code, 0, `${signal}: exit code 0`);
    t.ok(
      lines.some((l) => l.includes('"msg":"stopped"')),
      'logged that it stopped',
    );
    t.notOk(
      lines.some((l) => l.includes('a-secret-key-1234')),
      'the API key never reaches the log',
    );
  }
});

t.test('a broken configuration exits 1 with the failing path', async (t) => {
  const child = spawn(process.execPath, [MAIN, '--validate-config'], {
    env: { ...process.env, ACTOR_RECOGNIZER_VISION_MIN_SCORE: '7' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = await once(child, 'exit');
  t.equal(code, 1);
  t.match(stderr, /\/vision\/minScore/);
});

t.test('npm start does not compile an unchanged build again (slow on a Pi)', async (t) => {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  t.equal(
    pkg.scripts['start'],
    'tsc -b tsconfig.json && node dist/src/main.js start',
    'start builds with tsc -b, which compares the sources with the last build',
  );
  // The suite's own build just ran: -b finds nothing to do (--dry: says so without building).
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const started = Date.now();
  const { stdout } = await promisify(execFile)(process.execPath, [tsc, '-b', '--dry', '-v', 'tsconfig.json'], { cwd: ROOT });
  t.match(stdout, /Project '.*tsconfig\.json' is up to date/, 'an unchanged tree is up to date');
  t.ok(Date.now() - started < 15_000, `checked in ${Date.now() - started} ms, not a full compile`);
});
