// sharp (libvips) is loaded when a photo is decoded or a snapshot drawn, not when the daemon starts.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import t from 'tap';

const here = new URL('.', import.meta.url);
const daemon = new URL('../src/daemon.js', here).href;
const sharpLoader = new URL('../src/vision/sharp.js', here).href;

t.test(
  "the daemon's modules load without libvips; the first photo loads it",
  { skip: existsSync('/proc/self/maps') ? false : 'needs /proc (Linux)' },
  async (t) => {
    // A fresh process: this one may have loaded sharp already.
    const script = `
    const { readFileSync } = await import('node:fs');
    const vips = () => /libvips/.test(readFileSync('/proc/self/maps', 'utf8'));
    await import(${JSON.stringify(daemon)});
    const atStart = vips();
    await (await import(${JSON.stringify(sharpLoader)})).loadSharp();
    process.stdout.write(JSON.stringify({ atStart, afterPhoto: vips() }));`;
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as {
      atStart: boolean;
      afterPhoto: boolean;
    };
    t.equal(out.atStart, false, 'no libvips mapped once the daemon and everything it imports are loaded (about 20 MiB of RSS)');
    t.equal(out.afterPhoto, true, 'libvips mapped once sharp is asked for');
  },
);
