// Runs the built CLI as a user would, and reads the JSON object on its last line.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './datasets.js';

export const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');

export async function cliJson<T = Record<string, unknown>>(args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, [MAIN, ...args, '--json'], {
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 600_000,
  });
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}
