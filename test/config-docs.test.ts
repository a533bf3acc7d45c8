// docs/configuration.md is written from the config schema: it must be what the generator writes today.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { envKeys } from '../src/config/env.js';
import { CONFIG_REFERENCE_COMMAND, CONFIG_REFERENCE_PATH, renderConfigReference } from '../src/config/reference.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

t.test('docs/configuration.md is the schema as the generator writes it', async (t) => {
  const expected = renderConfigReference();
  const actual = readFileSync(join(root, CONFIG_REFERENCE_PATH), 'utf8');
  // One line in the failure, not a 200-line diff: the fix is always the same command.
  if (actual !== expected) {
    const lines = [actual.split('\n'), expected.split('\n')] as const;
    const at = lines[1].findIndex((line, i) => line !== lines[0][i]);
    t.fail(`${CONFIG_REFERENCE_PATH} is out of date with src/config/schema.ts (first difference at line ${at + 1}): run \`${CONFIG_REFERENCE_COMMAND}\``);
  } else {
    t.pass(`${CONFIG_REFERENCE_PATH} is up to date`);
  }
});

t.test('every setting of the schema is documented with its variable, default and description', async (t) => {
  const text = renderConfigReference();
  const rows = text.split('\n').filter((line) => line.startsWith('| `'));
  for (const key of envKeys().values()) {
    const path = key.path.join('.');
    if (key.path.length === 1 && key.schema.type === 'object') {
      t.match(text, new RegExp(`## ${path}\\n\\n[^\\n]*set as JSON by \`${key.name}\``), `section ${path} names ${key.name}`);
      continue;
    }
    const row = rows.find((line) => line.startsWith(`| \`${path}\` |`));
    if (!row) {
      t.fail(`no row for ${path}`);
      continue;
    }
    t.ok(row.includes(`\`${key.name}\``), `${path} names ${key.name}`);
    const cells = row.split(/(?<!\\)\|/).map((c) => c.trim());
    // | key | type | default | bounds | variable | meaning |: seven pieces around the six cells.
    t.equal(cells.length, 8, `${path}: six cells, every | inside a cell escaped`);
    if (key.schema.default !== undefined && key.schema.type !== 'object') {
      t.equal(cells[3], `\`${JSON.stringify(key.schema.default)}\``, `${path} shows its default`);
    }
    if (typeof key.schema.description === 'string')
      t.ok(cells[6]?.startsWith(key.schema.description.replace(/\|/g, '\\|').slice(0, 40)), `${path} carries its description`);
  }
  t.match(text, /\| `cameras\[\]\.url` \| string \| required \|/, "a camera's keys are listed under cameras[]");
  t.match(text, /`api\.apiKey`[^\n]*\*Secret\.\*/, 'a secret is marked');
});
