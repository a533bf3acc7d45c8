// The Greengrass component configuration as a config source, and which of its changes apply live.
import { envKeys } from './env.js';
import { loadConfig } from './load.js';
import type { Config } from './schema.js';

type Json = Record<string, unknown>;

/** How errors name the component configuration as the source of a bad value. */
export const COMPONENT_SOURCE = 'the Greengrass component configuration';

/** Keys of the component configuration that are Greengrass's own (recipe.yaml), not the daemon's. */
export const GREENGRASS_ONLY_KEYS: ReadonlySet<string> = new Set(['accessControl']);

/**
 * Keys whose change applies while running; every other key needs a restart. Decided here only: the
 * daemon applies exactly the keys classifyChanges lists (Daemon.applyLive, LiveVideo.reconfigure).
 */
const LIVE_KEYS = [
  /^track\./,
  /^vision\.(minScore|maxFaces|tileZoom|detectorSide)$/,
  /^mqtt\.(?!host$|port$)/,
  /^cameras$/,
  /^ingest\./,
  /^model\.(dir|s3)(\.|$)/,
  /^greengrass\./,
];

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);

/** JSON with keys sorted, so that two equal values compare equal whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value))
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'undefined';
}

/** Whether two values are equal as JSON, whatever their key order (the one comparison of configurations). */
export function sameValue(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

/** The daemon's part of the component configuration. */
export function daemonValues(component: Json): Json {
  return Object.fromEntries(Object.entries(component).filter(([key]) => !GREENGRASS_ONLY_KEYS.has(key)));
}

/**
 * The environment without the variables that merely repeat the component configuration. recipe.yaml
 * hands each top-level key to the daemon as ACTOR_RECOGNIZER_<KEY> too (so that it runs even where
 * IPC is refused); read over IPC, those copies are the same source, not overrides, and kept as
 * overrides they would mask every later configuration update with the values of the start.
 * A variable that differs from the component's value stays an override, as anywhere else.
 */
export function withoutComponentCopies(env: NodeJS.ProcessEnv, component: Json): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const key of envKeys().values()) {
    const [top] = key.path;
    const raw = env[key.name];
    if (key.path.length !== 1 || top === undefined || raw === undefined || !(top in component)) continue;
    try {
      if (canonical(JSON.parse(raw)) === canonical(component[top])) delete out[key.name];
    } catch {
      // Not JSON: not a copy; loadConfig reports it.
    }
  }
  return out;
}

/**
 * The configuration from defaults, the file if any, the component configuration and the environment,
 * validated by the one schema (CONFIG_INVALID names the component configuration as the source of a
 * bad value it holds).
 */
export function componentConfig(component: Json, options: { file?: string; env: NodeJS.ProcessEnv }): Config {
  return loadConfig({ file: options.file, env: options.env, component: { values: daemonValues(component), source: COMPONENT_SOURCE } });
}

/** The dotted paths whose values differ; a list (cameras) is one value. */
export function changedKeys(before: unknown, after: unknown, path = '', out: string[] = []): string[] {
  if (isObject(before) && isObject(after)) {
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) changedKeys(before[key], after[key], path ? `${path}.${key}` : key, out);
  } else if (canonical(before) !== canonical(after)) {
    out.push(path);
  }
  return out;
}

/** The changes between two configurations, split into those applied live and those that need a restart. */
export function classifyChanges(before: Config, after: Config): { live: string[]; restart: string[] } {
  const changed = changedKeys(before, after);
  return { live: changed.filter((k) => LIVE_KEYS.some((re) => re.test(k))), restart: changed.filter((k) => !LIVE_KEYS.some((re) => re.test(k))) };
}
