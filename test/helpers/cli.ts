// Runs the built CLI as a user would, and reads the JSON object on its last line.
import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './datasets.js';

export const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');

/**
 * What every spawned CLI or daemon gets: one inference thread. tap runs two test files at once on
 * these 2-core machines, and two processes each spinning two onnxruntime threads cost a fifth more CPU
 * for the same answers (scan and cli-model tests: 117 s of CPU with the default, 91 s with one thread).
 * A test that sets the variable itself wins.
 */
const TEST_ENV: NodeJS.ProcessEnv = { ACTOR_RECOGNIZER_VISION_THREADS: '1' };

export async function cliJson<T = Record<string, unknown>>(args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, [MAIN, ...args, '--json'], {
    env: { ...TEST_ENV, ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 600_000,
  });
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

/** Runs the built CLI and returns its exit code and output, whatever the code (a failing command is a result too). */
export async function cliRun(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string; json: unknown }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [MAIN, ...args], {
      env: { ...TEST_ENV, ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 600_000,
    });
    return { code: 0, stdout, stderr, json: lastJson(stdout) };
  } catch (err) {
    const { code, stdout = '', stderr = '' } = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof code !== 'number') throw err;
    return { code, stdout, stderr, json: lastJson(stdout) };
  }
}

function lastJson(stdout: string): unknown {
  try {
    return JSON.parse(stdout.trim().split('\n').pop() ?? '');
  } catch {
    return undefined;
  }
}

/** Starts the built daemon (`start`) and resolves with its URL, read from its log, and every log line so far and to come. */
export async function spawnDaemon(
  env: Record<string, string>,
): Promise<{ child: ChildProcessByStdio<null, Readable, Readable>; url: string; lines: string[] }> {
  const child = spawn(process.execPath, [MAIN, 'start'], {
    env: { ...TEST_ENV, ...process.env, ACTOR_RECOGNIZER_API_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.resume();
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'REST API listening' && entry.url) resolve(entry.url);
      }
    });
    child.once('exit', (code) => reject(new Error(`daemon exited with ${code} before listening: ${lines.join('\n')}`)));
  });
  return { child, url, lines };
}
