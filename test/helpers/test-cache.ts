// Where the tests keep what is costly to make: a folder under the system's temporary directory, never the
// user's ~/.cache. Every test process of a run (and the CLIs and daemons they spawn, which inherit the
// environment) shares it, so a photo embedded or a model trained by one test file is read back by the
// next instead of made again.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BASE = path.join(os.tmpdir(), 'actor-recognizer-tests');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The face cache of the tests ($ACTOR_RECOGNIZER_CACHE when set, so a run can be pointed elsewhere). Its
 * entries are keyed by pipeline revision and photo content, so a folder warm from an earlier run is as
 * good as a fresh one.
 */
export const TEST_CACHE = (process.env.ACTOR_RECOGNIZER_CACHE ||= path.join(BASE, 'faces'));

let product: Promise<string> | undefined;
/** A hash of what a built fixture depends on: the built daemon, the shipped cohorts, the locked dependencies, the photos' place. */
function productHash(): Promise<string> {
  product ??= (async () => {
    const hash = createHash('sha256');
    for (const dir of [path.join(ROOT, 'dist', 'src'), path.join(ROOT, 'models', 'cohort')]) {
      const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && !e.name.endsWith('.map'));
      for (const file of files.map((e) => path.join(e.parentPath, e.name)).sort()) hash.update(path.relative(ROOT, file)).update(await readFile(file));
    }
    hash.update(await readFile(path.join(ROOT, 'package-lock.json'))).update(process.env.ACTOR_RECOGNIZER_DATASETS ?? '');
    return hash.digest('hex').slice(0, 16);
  })();
  return product;
}

/**
 * The folder `build` writes, made once for `key` and this build of the daemon, then shared by every test
 * process (read it, never write into it). Two processes that ask at once may both build; the first to
 * finish wins, the other's folder is dropped.
 */
export async function builtOnce(key: string, build: (out: string) => Promise<void>): Promise<string> {
  const dir = path.join(BASE, 'fixtures', `${key.replace(/[^A-Za-z0-9._-]/g, '_')}-${await productHash()}`);
  if (existsSync(dir)) return dir;
  await mkdir(path.dirname(dir), { recursive: true });
  const tmp = await mkdtemp(`${dir}.tmp-`);
  try {
    await build(tmp);
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    // Another process finished first: its folder is as good.
    if (!existsSync(dir)) throw err;
  }
  return dir;
}
