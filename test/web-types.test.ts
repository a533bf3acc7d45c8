// The page's scripts (web/*.js) are type-checked from their JSDoc: tsc -p web/tsconfig.json must pass.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB = path.join(ROOT, 'web');

t.test('every script of the page asks to be checked', async (t) => {
  const scripts = (await readdir(WEB)).filter((name) => name.endsWith('.js'));
  t.ok(scripts.length >= 7, `${scripts.length} scripts in web/`);
  for (const name of scripts) {
    const text = await readFile(path.join(WEB, name), 'utf8');
    t.ok(text.startsWith('// @ts-check\n'), `${name} starts with // @ts-check`);
  }
});

t.test('web/tsconfig.json checks strictly, as the daemon is', async (t) => {
  const { compilerOptions: options } = JSON.parse(await readFile(path.join(WEB, 'tsconfig.json'), 'utf8')) as { compilerOptions: Record<string, unknown> };
  t.match(options, { allowJs: true, checkJs: true, noEmit: true, strict: true, noUncheckedIndexedAccess: true });
});

t.test('tsc finds no type error in web/', async (t) => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = await promisify(execFile)(process.execPath, [tsc, '-p', path.join(WEB, 'tsconfig.json')], { cwd: ROOT }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (err: { code?: number; stdout?: string }) => ({ code: err.code ?? 1, stdout: err.stdout ?? '' }),
  );
  t.equal(result.stdout.trim(), '', 'no diagnostics');
  t.equal(result.code, 0, 'tsc -p web/tsconfig.json exits 0');
});
