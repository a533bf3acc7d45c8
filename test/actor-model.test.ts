// The actor model bundle: written, verified, loaded and run; tampered bundles refused.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { isRecognizerError } from '../src/errors.js';
import { ActorModel } from '../src/recognize/actor-model.js';
import { classMeans, cosine, HEAD_INPUT, HEAD_OUTPUT, ncmHeadGraph } from '../src/recognize/ncm-head.js';
import { writeBundle, type ManifestBody } from '../src/recognize/bundle-writer.js';
import { randomUnit, SIZE } from './helpers/bundles.js';
import { DEFAULT_EMBEDDER, embedderSpec } from '../src/vision/embedder.js';

/** Three actors with embeddings scattered around three random centres. */
function fixture() {
  const centres = [1, 2, 3].map((seed) => randomUnit(seed));
  const byClass = centres.map((c, k) => [0, 1, 2, 3].map((j) => c.map((x, i) => x + 0.1 * randomUnit(100 * k + j + 7)[i]!)));
  return { actors: ['Ada Lovelace', 'Alan Turing', 'Grace Hopper'], byClass };
}

function body(actors: string[], version = 'test-1'): ManifestBody {
  return {
    version,
    kind: 'embedding-classifier',
    createdAt: new Date().toISOString(),
    actors,
    input: { type: 'embedding', name: HEAD_INPUT, size: SIZE, extractor: DEFAULT_EMBEDDER, embedder: embedderSpec(DEFAULT_EMBEDDER) },
    head: { type: 'ncm-cosine', graph: 'head.onnx', output: HEAD_OUTPUT, score: 'cosine' },
    thresholds: { default: 0.5, perActor: { 'Grace Hopper': 1.01 } },
  };
}

async function bundle(actors: string[], graph: Uint8Array): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-bundle-'));
  await writeBundle(dir, body(actors), { 'head.onnx': graph });
  return dir;
}

async function refusal(dir: string): Promise<string | undefined> {
  try {
    await (await ActorModel.load(dir)).release();
    return undefined;
  } catch (err) {
    return isRecognizerError(err) ? err.code : String(err);
  }
}

t.test('the ONNX head gives the cosine to each class mean, within 1e-5', async (t) => {
  const { actors, byClass } = fixture();
  const means = classMeans(byClass, SIZE);
  const model = await ActorModel.load(await bundle(actors, ncmHeadGraph(means, SIZE)));
  t.teardown(() => model.release());
  const samples = byClass.flat();
  const rows = await model.scores(samples);
  let worst = 0;
  samples.forEach((e, n) => means.forEach((m, k) => (worst = Math.max(worst, Math.abs(rows[n]![k]! - cosine(e, m))))));
  t.ok(worst < 1e-5, `largest difference ${worst}`);
  const named = await model.classify(samples);
  t.same(
    named.slice(0, 8).map((c) => c.actor),
    ['Ada Lovelace', 'Ada Lovelace', 'Ada Lovelace', 'Ada Lovelace', 'Alan Turing', 'Alan Turing', 'Alan Turing', 'Alan Turing'],
  );
  // Grace Hopper's threshold is above any cosine: her faces are best matched to her, but refused.
  t.same(
    named.slice(8).map((c) => c.actor),
    [null, null, null, null],
  );
  t.equal(named[8]!.candidates[0]!.actor, 'Grace Hopper');
  t.equal(named[0]!.candidates.length, 3);
});

t.test('a bundle is refused by a daemon running another embedder; older bundles stand for face-api-eyes', async (t) => {
  // face-api's embedders give 128 values.
  const actors = ['Ada Lovelace', 'Alan Turing', 'Grace Hopper'];
  const graph = ncmHeadGraph(
    classMeans(
      actors.map((_, i) => [randomUnit(i + 1, 128)]),
      128,
    ),
    128,
  );
  const flip = await mkdtemp(path.join(os.tmpdir(), 'ar-bundle-'));
  await writeBundle(
    flip,
    { ...body(actors), input: { type: 'embedding', name: HEAD_INPUT, size: 128, extractor: 'face-api-68-flip', embedder: embedderSpec('face-api-68-flip') } },
    { 'head.onnx': graph },
  );
  await t.rejects(ActorModel.load(flip, { embedder: embedderSpec('face-api-68') }), {
    code: 'MODEL_EMBEDDER_MISMATCH',
    message: /face-api-68-flip.*face-api-68/,
  });
  const model = await ActorModel.load(flip, { embedder: embedderSpec('face-api-68-flip') });
  await model.release();
  t.pass('the same bundle runs on the embedder it was made for');
  const legacy = await mkdtemp(path.join(os.tmpdir(), 'ar-bundle-'));
  await writeBundle(
    legacy,
    { ...body(actors), input: { type: 'embedding', name: HEAD_INPUT, size: 128, extractor: 'face-api-resnet34/dlib-chip150' } },
    { 'head.onnx': graph },
  );
  await t.rejects(ActorModel.load(legacy, { embedder: embedderSpec('face-api-68') }), { code: 'MODEL_EMBEDDER_MISMATCH', message: /face-api-eyes/ });
  await (await ActorModel.load(legacy, { embedder: embedderSpec('face-api-eyes') })).release();
});

t.test('a bundle whose file was changed is refused', async (t) => {
  const { actors, byClass } = fixture();
  const dir = await bundle(actors, ncmHeadGraph(classMeans(byClass, SIZE), SIZE));
  const file = path.join(dir, 'head.onnx');
  const bytes = await readFile(file);
  bytes[bytes.length - 10]! ^= 0xff;
  await writeFile(file, bytes);
  t.equal(await refusal(dir), 'MODEL_CHECKSUM');
});

t.test('a truncated graph is refused, even with matching checksums', async (t) => {
  const { actors, byClass } = fixture();
  const graph = ncmHeadGraph(classMeans(byClass, SIZE), SIZE);
  t.equal(await refusal(await bundle(actors, graph.subarray(0, graph.length / 2))), 'MODEL_GRAPH_INVALID');
});

t.test('more actors than the graph has outputs is refused', async (t) => {
  const { actors, byClass } = fixture();
  t.equal(await refusal(await bundle([...actors, 'Extra Person'], ncmHeadGraph(classMeans(byClass, SIZE), SIZE))), 'MODEL_GRAPH_INVALID');
});

t.test('a missing or malformed manifest is refused', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-bundle-'));
  t.equal(await refusal(dir), 'MODEL_NOT_FOUND');
  await writeFile(path.join(dir, 'manifest.json'), '{"format": "something else"}');
  t.equal(await refusal(dir), 'MODEL_MANIFEST_INVALID');
  await writeFile(path.join(dir, 'manifest.json'), '{not json');
  t.equal(await refusal(dir), 'MODEL_MANIFEST_INVALID');
});
