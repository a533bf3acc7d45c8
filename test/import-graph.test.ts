// The import graph of src/: no cycles, and every import points down the layers (DESIGN.md: "layers point down").
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ROOT } from './helpers/datasets.js';

const SRC = path.join(ROOT, 'src');

/**
 * The layers, lowest first: a module may import its own folder and any lower layer, never a higher
 * one nor a sibling on its own rank. The order is what the code is:
 * - errors, logger, version: imported by everything, import nothing of ours;
 * - util and events: small pieces over the logger; the bus (events/) is low so that every stage can
 *   emit on it without knowing who listens (MQTT, SSE, Greengrass, the page);
 * - onnx (the graph writer) < vision (detect, align, embed) < config (its schema lists vision's
 *   embedders) < ingest (ffmpeg, frames) < recognize (the actor model, bundles) < models (the store)
 *   and train (siblings) < track < publish < metrics (reads cameras and the MQTT counters) < api;
 * - daemon (the composition root) and cli (the commands), siblings; main above both.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['errors', 'logger', 'version'],
  ['util', 'events'],
  ['onnx'],
  ['vision'],
  ['config'],
  ['ingest'],
  ['recognize'],
  ['models', 'train'],
  ['track'],
  ['publish'],
  ['metrics'],
  ['api'],
  ['daemon', 'cli'],
  ['main'],
];

/** Imports that point up, each with its reason. Nothing else may. */
const EXCEPTIONS: Record<string, string> = {
  // The pipeline factory is handed the `vision` section of the one schema; it reads the type only (erased at run time).
  'vision/create-backend.ts -> config/schema.ts': 'type of its own configuration section',
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** Relative specifiers of import, export-from and dynamic import(), as files under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1] ?? m[2]!);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => path.relative(SRC, path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts'))));
}

/** The layer a module belongs to: its top folder, or its own name for a file at the top of src/. */
const layerOf = (module: string) => module.split('/')[0]!.replace(/\.ts$/, '');
const rank = (layer: string) => LAYERS.findIndex((l) => l.includes(layer));

const graph = new Map(sources(SRC).map((file) => [path.relative(SRC, file), importsOf(file)]));

t.test('the parser sees the imports (a broken parser would pass everything)', async (t) => {
  t.ok(graph.size > 100, `${graph.size} modules`);
  t.ok(graph.get('daemon.ts')?.includes('track/live-video.ts'), 'daemon.ts imports track/live-video.ts');
  t.ok(graph.get('main.ts')?.includes('daemon.ts'), 'main.ts imports daemon.ts');
  const edges = [...graph.values()].reduce((n, list) => n + list.length, 0);
  t.ok(edges > 300, `${edges} imports`);
  for (const [from, list] of graph) for (const to of list) if (!graph.has(to)) t.fail(`${from} imports ${to}, which is not a module of src/`);
});

t.test('every folder of src/ has its place in the layers', async (t) => {
  const unplaced = [...new Set([...graph.keys()].map(layerOf))].filter((layer) => rank(layer) < 0);
  t.same(unplaced, [], 'a new folder is placed in LAYERS');
});

t.test('every import points down the layers, or is a listed exception', async (t) => {
  const upward: string[] = [];
  const used = new Set<string>();
  for (const [from, list] of graph) {
    for (const to of list) {
      const [a, b] = [layerOf(from), layerOf(to)];
      if (a === b || rank(b) < rank(a)) continue;
      const edge = `${from} -> ${to}`;
      if (edge in EXCEPTIONS) used.add(edge);
      else upward.push(`${edge} (${a} may not import ${b})`);
    }
  }
  t.same(upward, [], 'no import points up or sideways');
  t.same(
    Object.keys(EXCEPTIONS).filter((e) => !used.has(e)),
    [],
    'every exception is still needed (remove one that is not)',
  );
});

t.test('no import cycles, between modules or between folders', async (t) => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (module: string) => {
    if (state.get(module) === 'done') return;
    if (state.get(module) === 'open') return void cycles.push([...stack.slice(stack.indexOf(module)), module].join(' -> '));
    state.set(module, 'open');
    stack.push(module);
    for (const next of graph.get(module) ?? []) visit(next);
    stack.pop();
    state.set(module, 'done');
  };
  for (const module of graph.keys()) visit(module);
  t.same(cycles, [], 'no module reaches itself');
  const folders = new Set<string>();
  // A listed exception is the one import allowed to point up, so it cannot make a folder cycle by itself.
  for (const [from, list] of graph)
    for (const to of list) if (layerOf(from) !== layerOf(to) && !(`${from} -> ${to}` in EXCEPTIONS)) folders.add(`${layerOf(from)} -> ${layerOf(to)}`);
  const mutual = [...folders].filter((edge) => folders.has(edge.split(' -> ').reverse().join(' -> ')));
  t.same(mutual, [], 'no two folders import each other');
});
