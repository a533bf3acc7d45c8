// Writes docs/configuration.md from the config schema (run through `npm run docs:config`, after a build).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_REFERENCE_PATH, renderConfigReference } from '../dist/src/config/reference.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
writeFileSync(join(root, CONFIG_REFERENCE_PATH), renderConfigReference());
console.log(`wrote ${CONFIG_REFERENCE_PATH}`);
