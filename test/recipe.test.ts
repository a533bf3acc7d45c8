// recipe.yaml: the fields Greengrass requires, and a default configuration the daemon accepts as is.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { parse, stringify } from 'yaml';
import { unitEnvironment } from '../src/cli/bench-memory.js';
import { envKeys } from '../src/config/env.js';
import { loadConfig } from '../src/config/load.js';
import { ConfigSchema } from '../src/config/schema.js';
import { ROOT } from './helpers/datasets.js';

type Json = Record<string, unknown>;

interface Manifest {
  Platform?: { os?: string; architecture?: string };
  Lifecycle?: { Setenv?: Record<string, string>; Install?: { Script?: string }; Run?: { Script?: string } };
  Artifacts?: Array<{ URI?: string; Unarchive?: string }>;
}

interface Recipe {
  RecipeFormatVersion?: string;
  ComponentName?: string;
  ComponentVersion?: string;
  ComponentDescription?: string;
  ComponentPublisher?: string;
  ComponentDependencies?: Record<string, { VersionRequirement?: string; DependencyType?: string }>;
  ComponentConfiguration?: { DefaultConfiguration?: Json };
  Manifests?: Manifest[];
}

/** Keys of DefaultConfiguration that belong to Greengrass, not to the daemon. */
const GREENGRASS_KEYS = new Set(['accessControl']);

const recipe = parse(await readFile(path.join(ROOT, 'recipe.yaml'), 'utf8')) as Recipe;
const defaults = recipe.ComponentConfiguration?.DefaultConfiguration ?? {};
const daemonKeys = Object.fromEntries(Object.entries(defaults).filter(([key]) => !GREENGRASS_KEYS.has(key)));
const manifests = recipe.Manifests ?? [];

/** What the nucleus does to `{configuration:/key}`: a scalar as text, an object or list as JSON. */
function interpolate(text: string): string {
  return text.replace(/\{configuration:\/([^}]+)\}/g, (_, pointer: string) => {
    const value = pointer.split('/').reduce<unknown>((node, key) => (node as Json | undefined)?.[key], defaults);
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  });
}

t.test('the fields Greengrass requires', async (t) => {
  t.equal(recipe.RecipeFormatVersion, '2020-01-25');
  t.match(recipe.ComponentName, /^[A-Za-z0-9.-]+$/, 'a component name Greengrass accepts');
  t.match(recipe.ComponentVersion, /^\d+\.\d+\.\d+$/, 'semantic version (major.minor.patch)');
  t.ok(recipe.ComponentDescription && recipe.ComponentPublisher, 'description and publisher');
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  t.equal(recipe.ComponentVersion, pkg.version, 'the component version is the package version');
  t.same(recipe.ComponentDependencies?.['aws.greengrass.TokenExchangeService']?.DependencyType, 'HARD', 'S3 credentials from the Token Exchange Service');
  t.same(
    manifests.map((m) => `${m.Platform?.os}/${m.Platform?.architecture}`),
    ['linux/aarch64', 'linux/amd64'],
    'a manifest for the Pi and one for x86-64',
  );
  for (const m of manifests) {
    const where = m.Platform?.architecture ?? '?';
    t.match(
      m.Lifecycle?.Run?.Script,
      /node \{artifacts:decompressedPath\}\/actor-recognizer\/dist\/src\/main\.js start/,
      `${where}: Run starts the daemon from the unpacked zip`,
    );
    t.match(m.Lifecycle?.Install?.Script, /process\.versions\.node/, `${where}: Install checks the Node.js version`);
    const artifact = m.Artifacts?.[0];
    t.match(artifact?.URI, /^s3:\/\/[^/]+\/.+\/actor-recognizer\.zip$/, `${where}: the zip artifact`);
    t.equal(artifact?.Unarchive, 'ZIP', `${where}: unpacked by the nucleus`);
  }
});

t.test('access control names the IPC services and operations the daemon is to use', async (t) => {
  const access = defaults.accessControl as Record<string, Record<string, { operations?: string[]; resources?: string[] }>>;
  const ops = (service: string) => Object.values(access[service] ?? {}).flatMap((p) => p.operations ?? []);
  t.ok(ops('aws.greengrass.ipc.pubsub').includes('aws.greengrass#PublishToTopic'));
  t.ok(ops('aws.greengrass.ipc.mqttproxy').includes('aws.greengrass#PublishToIoTCore'));
  for (const [service, policies] of Object.entries(access)) {
    for (const [id, policy] of Object.entries(policies)) {
      t.ok(id.startsWith(`${recipe.ComponentName}:`), `${service} policy ${id} is named after the component`);
      t.ok(
        (policy.resources ?? []).every((r) => r.startsWith('actor-recognizer/')),
        `${id}: only our own topics`,
      );
    }
  }
});

t.test("the default configuration's keys are exactly what the daemon reads", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-recipe-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, stringify(daemonKeys));
  // loadConfig rejects unknown keys, so a key the daemon does not read fails here.
  const config = loadConfig({ file, env: {} });
  t.equal(config.api.port, daemonKeys.api && (daemonKeys.api as Json).port, 'values reach the config');
  t.equal(config.model.s3?.uri, 's3://BUCKET/actor-recognizer/models');
  t.equal(config.cameras.length, 1);
  const known = Object.keys(ConfigSchema.properties);
  t.same(
    Object.keys(daemonKeys).filter((k) => !known.includes(k)),
    [],
    'no key outside the schema',
  );
});

t.test('the lifecycle hands every key to the daemon, as Greengrass interpolates it', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-recipe-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, stringify(daemonKeys));
  const fromFile = loadConfig({ file, env: {} });
  for (const m of manifests) {
    const setenv = m.Lifecycle?.Setenv ?? {};
    const config = Object.entries(setenv).filter(([name]) => name.startsWith('ACTOR_RECOGNIZER_'));
    t.same(
      config.map(([name]) => name).sort(),
      Object.keys(daemonKeys)
        .map((k) => `ACTOR_RECOGNIZER_${k.toUpperCase()}`)
        .sort(),
      `${m.Platform?.architecture}: one variable per top-level key, none forgotten`,
    );
    t.ok(
      config.every(([name]) => envKeys().has(name)),
      'each is a variable the daemon knows',
    );
    const env = Object.fromEntries(config.map(([name, value]) => [name, interpolate(value)]));
    t.same(loadConfig({ env }), fromFile, 'the daemon sees the same configuration as from a file');
  }
});

t.test("the memory settings are the systemd unit's, on every platform", async (t) => {
  const unit = unitEnvironment(path.join(ROOT, 'dist', 'src', 'main.js'));
  t.ok(unit['NODE_OPTIONS'] && unit['MALLOC_ARENA_MAX'], 'the unit sets V8 and malloc');
  for (const m of manifests) {
    const setenv = m.Lifecycle?.Setenv ?? {};
    const memory = Object.fromEntries(Object.entries(setenv).filter(([name]) => name in unit));
    t.same(memory, unit, `${m.Platform?.architecture}: ${Object.keys(unit).join(', ')} as in the unit`);
  }
});

t.test('the Install script accepts this Node.js and refuses an older one', async (t) => {
  const script = manifests[0]?.Lifecycle?.Install?.Script ?? '';
  const code = /node -e '([^']+)'/.exec(script)?.[1];
  t.ok(code, 'a node -e check');
  t.doesNotThrow(() => execFileSync(process.execPath, ['-e', code ?? ''], { stdio: 'pipe' }), `passes on ${process.version}`);
  const old = `Object.defineProperty(process.versions, 'node', { value: '18.19.0' }); ${code}`;
  t.throws(() => execFileSync(process.execPath, ['-e', old], { stdio: 'pipe' }), 'fails on 18');
});
