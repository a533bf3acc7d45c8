// Environment overrides: ACTOR_RECOGNIZER_<PATH> variables derived from the schema's paths.
import type { TSchema } from '@sinclair/typebox';
import { didYouMean } from '../util/did-you-mean.js';
import { ConfigSchema, secretKind } from './schema.js';

/** Prefix of every configuration variable. */
export const ENV_PREFIX = 'ACTOR_RECOGNIZER_';

/** Names the config file when no file is passed explicitly; the one prefixed variable that is not a schema path. */
export const CONFIG_FILE_VARIABLE = `${ENV_PREFIX}CONFIG`;

/**
 * Variables with the prefix that are not settings: the config file, the face cache of the training
 * commands, and the datasets folder of the tests and benchmarks.
 */
export const OTHER_VARIABLES: ReadonlySet<string> = new Set([CONFIG_FILE_VARIABLE, `${ENV_PREFIX}CACHE`, `${ENV_PREFIX}DATASETS`]);

/** How a variable's text becomes a value: scalars are coerced, objects and arrays are JSON. */
export type EnvKind = 'string' | 'number' | 'boolean' | 'json';

/** One schema path that a variable can override. */
export interface EnvKey {
  /** The variable name, e.g. `ACTOR_RECOGNIZER_VISION_MIN_SCORE`. */
  readonly name: string;
  /** The keys from the root, e.g. `['vision', 'minScore']`. */
  readonly path: readonly string[];
  /** JSON pointer of the path, as validation errors report it: `/vision/minScore`. */
  readonly pointer: string;
  readonly schema: TSchema;
  readonly kind: EnvKind;
}

/** A problem found while reading the configuration; `source` is a file path or a variable name. */
export interface ConfigIssue {
  /** JSON pointer of the offending key, absent when the problem is not about one key. */
  readonly path?: string;
  readonly message: string;
  readonly source: string;
}

/** A variable's value, ready to be set at its path. */
export interface EnvOverride {
  readonly key: EnvKey;
  readonly value: unknown;
}

/**
 * Words of the schema's keys that are one word despite their capitals: `minFreeMiB` is MIN_FREE_MIB,
 * `publishToIoTCore` PUBLISH_TO_IOT_CORE (split at every capital they read MI_B and IO_TCORE).
 */
const WORDS: readonly (readonly [RegExp, string])[] = [
  [/MiB/g, 'Mib'],
  [/IoT/g, 'Iot'],
];

/** `bodyLimitBytes` -> `BODY_LIMIT_BYTES`; `legacy`: split at every capital, as names were before WORDS. */
function upperSnake(key: string, legacy = false): string {
  const words = legacy ? key : WORDS.reduce((k, [pattern, word]) => k.replace(pattern, word), key);
  return words.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Old spellings of variables, still read: legacy name -> the name it was renamed to. */
const aliases = new Map<string, string>();

function kindOf(schema: TSchema): EnvKind {
  switch (schema.type) {
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'object':
    case 'array':
      return 'json';
    default:
      // Strings, and unions of string literals (log.level, vision.backend).
      return 'string';
  }
}

function collect(schema: TSchema, path: string[], out: Map<string, EnvKey>): void {
  if (path.length > 0) {
    const name = ENV_PREFIX + path.map((key) => upperSnake(key)).join('_');
    const clash = out.get(name);
    // Two paths may not share a name (`a.bC` and `aB.c`); fail at import, not in the field.
    if (clash || OTHER_VARIABLES.has(name)) throw new Error(`config schema: ${name} names two paths`);
    out.set(name, { name, path, pointer: `/${path.join('/')}`, schema, kind: kindOf(schema) });
    const legacy = ENV_PREFIX + path.map((key) => upperSnake(key, true)).join('_');
    if (legacy !== name) aliases.set(legacy, name);
  }
  // Array items have no variables of their own: the whole array is set as JSON.
  if (schema.type !== 'object') return;
  for (const [key, inner] of Object.entries(schema.properties as Record<string, TSchema>)) {
    collect(inner, [...path, key], out);
  }
}

let keys: ReadonlyMap<string, EnvKey> | undefined;

/** Every configuration variable, by name, in schema order. */
export function envKeys(): ReadonlyMap<string, EnvKey> {
  if (!keys) {
    const out = new Map<string, EnvKey>();
    collect(ConfigSchema, [], out);
    keys = out;
  }
  return keys;
}

const BOOLEANS: Readonly<Record<string, boolean>> = { true: true, false: false, '1': true, '0': false, yes: true, no: false, on: true, off: false };

function coerce(key: EnvKey, raw: string): { value: unknown } | { error: string } {
  switch (key.kind) {
    case 'string':
      return { value: raw };
    case 'number': {
      const n = Number(raw.trim());
      return Number.isFinite(n) ? { value: n } : { error: `must be a number (got ${JSON.stringify(raw)})` };
    }
    case 'boolean': {
      const b = BOOLEANS[raw.trim().toLowerCase()];
      return b === undefined ? { error: `must be true or false (got ${JSON.stringify(raw)})` } : { value: b };
    }
    case 'json':
      try {
        return { value: JSON.parse(raw) };
      } catch {
        // V8's message quotes the input, and camera URLs in it may carry passwords.
        return { error: `must be ${key.schema.type === 'array' ? 'a JSON array' : 'a JSON object'}, and is not valid JSON` };
      }
  }
}

/**
 * Reads every `ACTOR_RECOGNIZER_*` variable: the overrides, shallow paths first so that
 * `..._MODEL_S3_URI` refines a `..._MODEL_S3` object, and an issue for each unknown variable or
 * value that cannot be coerced. An empty variable counts as unset (compose files write `VAR=`).
 */
export function readEnv(env: NodeJS.ProcessEnv): { overrides: EnvOverride[]; issues: ConfigIssue[] } {
  const overrides: EnvOverride[] = [];
  const issues: ConfigIssue[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || OTHER_VARIABLES.has(name)) continue;
    const key = envKeys().get(aliases.get(name) ?? name);
    if (!key) {
      issues.push({ message: `unknown variable${didYouMean(name, envKeys().keys())}`, source: name });
      continue;
    }
    if (raw === undefined || raw === '') continue;
    const result = coerce(key, raw);
    if ('error' in result) issues.push({ path: key.pointer, message: result.error, source: name });
    else overrides.push({ key, value: result.value });
  }
  overrides.sort((a, b) => a.key.path.length - b.key.path.length);
  return { overrides, issues };
}

function bounds(schema: TSchema): string {
  const parts: string[] = [];
  if (schema.anyOf) parts.push((schema.anyOf as TSchema[]).map((s) => String(s.const)).join('|'));
  else parts.push(String(schema.type));
  if (schema.minimum !== undefined || schema.maximum !== undefined) parts.push(`${schema.minimum ?? ''}..${schema.maximum ?? ''}`);
  if (schema.pattern !== undefined) parts.push(`/${String(schema.pattern)}/`);
  if (schema.default !== undefined && kindOf(schema) !== 'json') parts.push(`default ${JSON.stringify(schema.default)}`);
  if (secretKind(schema)) parts.push('secret');
  return parts.join(', ');
}

/** A plain-text table of every variable: name, type and bounds, and description (for `--help`). */
export function describeConfig(): string {
  const lines: string[] = [];
  for (const key of envKeys().values()) {
    if (key.kind === 'json' && key.schema.type === 'object') continue;
    lines.push(`${key.name}  [${bounds(key.schema)}]\n    ${String(key.schema.description ?? '')}`);
  }
  return lines.join('\n');
}
