// Loads the configuration: defaults, then the file, then the environment; validated once, then frozen.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { parse as parseYaml } from 'yaml';
import { RecognizerError } from '../errors.js';
import { CONFIG_FILE_VARIABLE, readEnv, type ConfigIssue } from './env.js';
import { ConfigSchema, redactUrl, secretKind, type Config } from './schema.js';

/** Where {@link loadConfig} reads from. */
export interface LoadConfigOptions {
  /** A `.yaml`, `.yml` or `.json` file; defaults to `$ACTOR_RECOGNIZER_CONFIG`, else none. */
  file?: string;
  /** The environment to take `ACTOR_RECOGNIZER_*` overrides from; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** A Greengrass component's configuration: over the file, under the environment; `source` names it in errors. */
  component?: { values: Record<string, unknown>; source: string };
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);

function invalid(message: string): RecognizerError {
  return new RecognizerError('CONFIG_INVALID', `invalid configuration: ${message}`);
}

/** yaml's messages quote the offending text and append a snippet; either may hold a secret. */
function yamlProblem(err: unknown): string {
  const first = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  return first.replace(/"[^"]*"/g, '"…"').replace(/:$/, '');
}

function readConfigFile(file: string): Json {
  const ext = extname(file).toLowerCase();
  if (!['.yaml', '.yml', '.json'].includes(ext)) {
    throw invalid(`${file}: unsupported extension "${ext}" (expected .yaml, .yml or .json)`);
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read failed';
    throw invalid(`${file}: cannot read the file (${code === 'ENOENT' ? 'no such file' : code})`);
  }
  let parsed: unknown;
  try {
    // YAML 1.2 is a superset of JSON; the json schema keeps .json files to strict JSON scalars.
    parsed = parseYaml(text, { schema: ext === '.json' ? 'json' : 'core' });
  } catch (err) {
    throw invalid(`${file}: cannot parse: ${yamlProblem(err)}`);
  }
  if (parsed === null || parsed === undefined) return {}; // an empty file: all defaults
  if (!isObject(parsed)) throw invalid(`${file}: the top level must be a mapping of keys`);
  return parsed;
}

/** `over` merged into `base`, key by key; arrays and scalars replace (a camera list is one value). */
function mergeInto(base: Json, over: Json): Json {
  for (const [key, value] of Object.entries(over)) {
    const current = base[key];
    base[key] = isObject(current) && isObject(value) ? mergeInto(current, value) : value;
  }
  return base;
}

/** Whether the component's values set the JSON pointer `pointer`, or a list or value above it. */
function holds(root: Json, pointer: string): boolean {
  if (pointer === '') return false;
  let node: unknown = root;
  for (const key of pointer.split('/').slice(1)) {
    if (!isObject(node)) return true;
    if (!(key in node)) return false;
    node = node[key];
  }
  return true;
}

/** Sets `value` at `path`, creating objects on the way; false when a non-object is in the way. */
function setAt(target: Json, path: readonly string[], value: unknown): boolean {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key] ?? (node[key] = {});
    if (!isObject(next)) return false; // the file's own value is wrong; validation reports it
    node = next;
  }
  const last = path[path.length - 1];
  if (last === undefined) return false;
  node[last] = value;
  return true;
}

/** What the offending value was, without ever printing a secret or a whole object. */
function got(schema: TSchema, value: unknown): string {
  if (secretKind(schema) || value === undefined) return '';
  if (typeof value === 'string') {
    const shown = redactUrl(value);
    return ` (got ${JSON.stringify(shown.length > 60 ? `${shown.slice(0, 57)}...` : shown)})`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return ` (got ${String(value)})`;
  return Array.isArray(value) ? ' (got an array)' : ' (got an object)';
}

/** One validation error as a short sentence, e.g. `must be <= 0.99 (got 3)`. */
function describe(error: ValueError): string {
  const s = error.schema;
  const g = got(s, error.value);
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return `unknown key (expected one of: ${Object.keys(s.properties as Json).join(', ')})`;
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum:
      return `must be <= ${String(s.maximum)}${g}`;
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return `must be >= ${String(s.minimum)}${g}`;
    case ValueErrorType.Number:
      return `must be a number${g}`;
    case ValueErrorType.Integer:
      return `must be an integer${g}`;
    case ValueErrorType.Boolean:
      return `must be true or false${g}`;
    case ValueErrorType.String:
      return `must be a string${g}`;
    case ValueErrorType.Object:
      return `must be a mapping of keys${g}`;
    case ValueErrorType.Array:
      return `must be a list${g}`;
    case ValueErrorType.ArrayMaxItems:
      return `must have at most ${String(s.maxItems)} entries`;
    case ValueErrorType.StringMinLength:
      return `must be at least ${String(s.minLength)} characters long${g}`;
    case ValueErrorType.StringMaxLength:
      return `must be at most ${String(s.maxLength)} characters long${g.length > 0 ? ' (too long to show)' : ''}`;
    case ValueErrorType.StringPattern:
      return `must match /${String(s.pattern)}/${g}`;
    case ValueErrorType.Union:
      if (Array.isArray(s.anyOf) && s.anyOf.every((v: TSchema) => typeof v.const === 'string')) {
        return `must be one of ${s.anyOf.map((v: TSchema) => String(v.const)).join(', ')}${g}`;
      }
      return `${error.message}${g}`;
    default:
      return `${error.message}${g}`;
  }
}

/** Unique ids are not expressible in JSON Schema (uniqueItems compares whole entries). */
function duplicateCameras(cameras: unknown): Array<{ path: string; message: string }> {
  const seen = new Map<string, number>();
  const issues: Array<{ path: string; message: string }> = [];
  if (!Array.isArray(cameras)) return issues;
  cameras.forEach((camera: unknown, i) => {
    const id = isObject(camera) ? camera.id : undefined;
    if (typeof id !== 'string') return;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, i);
    else issues.push({ path: `/cameras/${i}/id`, message: `duplicate id ${JSON.stringify(id)} (also /cameras/${first}/id)` });
  });
  return issues;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function format(issues: readonly ConfigIssue[]): string {
  const lines = issues.map((i) => (i.path === undefined ? `${i.source}: ${i.message}` : `${i.path}: ${i.message}, from ${i.source}`));
  // One line: the CLI contract is a one-line error on stderr.
  return `invalid configuration: ${[...new Set(lines)].join('; ')}`;
}

/**
 * Builds the daemon's configuration from, in order: the schema's defaults, the file (YAML or JSON,
 * by extension), the Greengrass component's configuration when there is one, and
 * `ACTOR_RECOGNIZER_<PATH>` variables. Validates once and returns a deeply
 * frozen object. Throws `RecognizerError('CONFIG_INVALID')` naming every failing path and where its
 * value came from; secret values are never part of the message.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const fromEnvFile = env[CONFIG_FILE_VARIABLE];
  const file = options.file ?? (fromEnvFile === '' ? undefined : fromEnvFile);
  const value = file === undefined ? {} : readConfigFile(file);
  const component = options.component;
  if (component) mergeInto(value, structuredClone(component.values));

  const { overrides, issues } = readEnv(env);
  const setBy = new Map<string, string>(); // JSON pointer -> variable name
  for (const { key, value: v } of overrides) {
    if (setAt(value, key.path, v)) setBy.set(key.pointer, key.name);
  }
  // The deepest variable that covers the path set its value; otherwise the file did, or a default.
  const sourceOf = (path: string): string => {
    let best: [string, string] | undefined;
    for (const [pointer, name] of setBy) {
      if ((path === pointer || path.startsWith(`${pointer}/`)) && pointer.length > (best?.[0].length ?? -1)) best = [pointer, name];
    }
    if (best) return best[1];
    return component && holds(component.values, path) ? component.source : (file ?? 'defaults');
  };

  const candidate: unknown = Value.Default(ConfigSchema, value);
  const all: ConfigIssue[] = [...issues];
  for (const error of Value.Errors(ConfigSchema, candidate)) {
    all.push({ path: error.path, message: describe(error), source: sourceOf(error.path) });
  }
  const cameras = isObject(candidate) ? candidate.cameras : undefined;
  for (const dup of duplicateCameras(cameras)) all.push({ ...dup, source: sourceOf(dup.path) });
  if (all.length > 0) throw new RecognizerError('CONFIG_INVALID', format(all));
  return deepFreeze(candidate as Config);
}
