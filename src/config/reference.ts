// The configuration reference (docs/configuration.md), written from the schema so that it cannot drift.
import type { TSchema } from '@sinclair/typebox';
import { CONFIG_FILE_VARIABLE, ENV_PREFIX, envKeys } from './env.js';
import { ConfigSchema, secretKind } from './schema.js';

/** Where the reference lives in the repository, and the command that rewrites it. */
export const CONFIG_REFERENCE_PATH = 'docs/configuration.md';
export const CONFIG_REFERENCE_COMMAND = 'npm run docs:config';

// The text around the tables. It says only what the loader does (src/config/load.ts, env.ts);
// everything about a single key comes from the schema below.
const HEADER = `# Configuration

<!-- Generated from src/config/schema.ts by \`${CONFIG_REFERENCE_COMMAND}\`: do not edit by hand.
     To change a key's text, edit its description in the schema and run the command. -->

One schema (\`src/config/schema.ts\`) gives every key its type, default, bounds and description; this
page is written from it. Sources, in order, each over the one before:

1. the defaults below;
2. a YAML or JSON file: \`--config FILE\`, or the file named by \`${CONFIG_FILE_VARIABLE}\`;
   under Greengrass, the component configuration comes after the file (see [deployment](deployment.md));
3. environment variables \`${ENV_PREFIX}<PATH>\`: the key's path in upper snake case
   (\`${ENV_PREFIX}API_PORT=9000\`, \`${ENV_PREFIX}VISION_MIN_SCORE=0.6\`). Numbers and booleans
   (\`true\`/\`false\`, \`1\`/\`0\`, \`yes\`/\`no\`, \`on\`/\`off\`) are coerced; an array or an object is
   set whole as JSON by its own variable (\`${ENV_PREFIX}CAMERAS='[{"id":"tv","url":"/dev/video0"}]'\`),
   and a deeper variable refines it (\`${ENV_PREFIX}MODEL_S3_URI\` over \`${ENV_PREFIX}MODEL_S3\`).
   An empty variable counts as unset. Units and names keep their capitals together
   (\`${ENV_PREFIX}MODEL_MIN_FREE_MIB\`); the names of 0.1, split at every capital
   (\`..._MIN_FREE_MI_B\`, \`..._PUBLISH_TO_IO_TCORE\`), are still read.

Unknown keys and unknown \`${ENV_PREFIX}*\` variables are errors (with a "did you mean" for a
mistyped variable). \`actor-recognizer --validate-config\` checks the configuration and prints the
effective one with secrets redacted, or exits 1 naming the failing path; \`actor-recognizer
--help-config\` lists every variable on the terminal. The loaded configuration is frozen.

\`\`\`yaml
api:    { host: 127.0.0.1, port: 8080, apiKey: change-me-please, bodyLimitBytes: 20971520 }
log:    { level: info }
vision: { backend: onnx, detector: ssd, minScore: 0.5, maxFaces: 20, maxPixels: 40000000, threads: 0, detectorSide: 512, tileZoom: 2, embedder: mobilefacenet }
model:  { dir: ./models/actors }
mqtt:   { url: mqtt://127.0.0.1:1883, topicPrefix: actor-recognizer }
cameras:
  - { id: living-room, url: rtsp://user:pass@10.0.0.5/stream1, fps: 5 }
\`\`\`

A key marked *secret* never reaches a log line or an error message: a secret value is shown as
\`[redacted]\`, and a URL that may carry credentials as \`rtsp://***@host/…\`.
`;

/** One documented key: a leaf, or an object or array described as a whole. */
interface Entry {
  readonly path: string;
  readonly schema: TSchema;
  readonly required: boolean;
  /** The variable that sets it, or the one of the array that holds it. */
  readonly variable: string;
}

/** Text safe inside a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** `text` as inline code, with a fence long enough for any backticks it holds. */
function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  return longest > 0 ? `${fence} ${text} ${fence}` : `${fence}${text}${fence}`;
}

function typeOf(schema: TSchema): string {
  if (Array.isArray(schema.anyOf)) {
    const values = (schema.anyOf as TSchema[]).map((s) => (s.const !== undefined ? JSON.stringify(s.const) : typeOf(s)));
    return values.join(' \\| ');
  }
  if (schema.type === 'array') {
    const items = schema.items as TSchema | undefined;
    return items && items.type !== 'object' ? `${typeOf(items)}[]` : 'object[]';
  }
  return String(schema.type ?? 'any');
}

function defaultOf(entry: Entry): string {
  const value: unknown = entry.schema.default;
  if (value === undefined) return entry.required ? 'required' : 'unset';
  // The sections' own `{}` defaults only say "fill in from the keys below".
  if (entry.schema.type === 'object' && entry.schema.properties) return '';
  return cell(code(JSON.stringify(value)));
}

function boundsOf(schema: TSchema): string {
  const parts: string[] = [];
  const range = (low: unknown, high: unknown, unit: string): void => {
    if (low === undefined && high === undefined) return;
    if (low !== undefined && high !== undefined) parts.push(`${unit}${String(low)}–${String(high)}`);
    else if (low !== undefined) parts.push(`${unit}≥ ${String(low)}`);
    else parts.push(`${unit}≤ ${String(high)}`);
  };
  range(schema.minimum, schema.maximum, '');
  range(schema.minLength, schema.maxLength, 'length ');
  range(schema.minItems, schema.maxItems, 'items ');
  if (typeof schema.pattern === 'string') parts.push(`matches ${code(schema.pattern)}`);
  const items = schema.items as TSchema | undefined;
  if (schema.type === 'array' && items && items.type !== 'object') {
    const inner = boundsOf(items);
    if (inner) parts.push(`each ${inner}`);
  }
  return parts.join('; ');
}

function describe(schema: TSchema): string {
  const text = typeof schema.description === 'string' ? schema.description : '';
  const kind = secretKind(schema);
  const mark = kind === 'value' ? ' *Secret.*' : kind === 'url' ? ' *Secret* (credentials in the URL are redacted).' : '';
  return cell(text + mark).trim();
}

/** Every section (a top-level key) with its entries, in schema order. */
function sections(): { key: string; schema: TSchema; entries: Entry[] }[] {
  const variables = new Map([...envKeys().values()].map((key) => [key.pointer, key.name]));
  const variableOf = (path: string[]): string => variables.get(`/${path.join('/')}`) ?? '';
  const out: { key: string; schema: TSchema; entries: Entry[] }[] = [];

  const walk = (schema: TSchema, path: string[], shown: string, required: boolean, variable: string, entries: Entry[]): void => {
    const items = schema.items as TSchema | undefined;
    if (schema.type === 'object') {
      // An optional object (model.s3) is a key of its own: setting it at all is a choice; so is a
      // record (patternProperties, no named keys), which is set whole.
      if (path.length > 1 && (schema.default === undefined || !schema.properties)) entries.push({ path: shown, schema, required, variable });
      const must = new Set((schema.required as string[] | undefined) ?? []);
      for (const [key, inner] of Object.entries((schema.properties ?? {}) as Record<string, TSchema>)) {
        const next = [...path, key];
        // Inside an array the keys have no variables: the array's variable sets them all.
        walk(inner, next, shown ? `${shown}.${key}` : key, must.has(key), variableOf(next) || variable, entries);
      }
    } else if (schema.type === 'array' && items?.type === 'object') {
      entries.push({ path: shown, schema, required, variable });
      walk(items, path, `${shown}[]`, true, variable, entries);
    } else {
      entries.push({ path: shown, schema, required, variable });
    }
  };

  const must = new Set((ConfigSchema.required as string[] | undefined) ?? []);
  for (const [key, schema] of Object.entries(ConfigSchema.properties as Record<string, TSchema>)) {
    const entries: Entry[] = [];
    walk(schema, [key], key, must.has(key), variableOf([key]), entries);
    out.push({ key, schema, entries });
  }
  return out;
}

function table(entries: readonly Entry[]): string {
  const rows = ['| key | type | default | bounds | variable | meaning |', '|---|---|---|---|---|---|'];
  for (const entry of entries) {
    const variable = entry.variable ? code(entry.variable) : '';
    // A variable that sets an array, an object or a key inside an array's items takes JSON.
    const json = entry.path.includes('[]') || entry.schema.type === 'object' || entry.schema.type === 'array';
    const via = json && entry.variable ? `${variable} (JSON)` : variable;
    rows.push(`| ${code(entry.path)} | ${typeOf(entry.schema)} | ${defaultOf(entry)} | ${cell(boundsOf(entry.schema))} | ${via} | ${describe(entry.schema)} |`);
  }
  return rows.join('\n');
}

/**
 * The whole of docs/configuration.md: the sources and their order, then one table per section of
 * the schema with each key's type, default, bounds, environment variable and description.
 */
export function renderConfigReference(): string {
  const parts = [HEADER];
  for (const section of sections()) {
    const variable = [...envKeys().values()].find((key) => key.pointer === `/${section.key}`)?.name;
    // A section that is an array has its own row; an object section is set whole by its variable.
    const whole = section.schema.type === 'object' && variable ? ` The whole section can be set as JSON by ${code(variable)}.` : '';
    parts.push(`## ${section.key}\n\n${describe(section.schema)}${whole}\n\n${table(section.entries)}\n`);
  }
  return parts.join('\n');
}
