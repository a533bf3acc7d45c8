// The face pipeline on real photos: group shots and tight crops (no leaked tensors on the reference backend: test/slow/vision-tfjs).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { decodeImage } from '../src/vision/decode.js';
import { datasetsMissing, faces } from './helpers/datasets.js';
import { testPipeline } from './helpers/models.js';

const missing = datasetsMissing();
const LIMIT = { maxPixels: 40_000_000 };

function files(dir: string, count = Infinity): string[] {
  return readdirSync(dir)
    .sort()
    .slice(0, count)
    .map((f) => path.join(dir, f));
}

if (missing) {
  t.plan(0, missing);
} else {
  t.test("every group shot yields several faces, each with landmarks and the embedder's unit vector", async (t) => {
    const pipeline = await testPipeline();
    const size = pipeline.embedder.spec.size;
    for (const file of files(faces('bbt-group-shots'))) {
      const found = await pipeline.analyze(await decodeImage(readFileSync(file), LIMIT));
      t.ok(found.length >= 2, `${path.basename(file)}: ${found.length} faces`);
      for (const face of found) {
        t.equal(face.embedding.length, size);
        t.ok(Math.abs(Math.hypot(...face.embedding) - 1) < 1e-4, 'unit length');
        t.equal(face.landmarks.length, 68);
      }
    }
  });

  t.test('tight face crops: a border finds the face, else the crop is taken as aligned', async (t) => {
    const pipeline = await testPipeline();
    const vias = new Map<string, number>();
    const crops = readdirSync(faces('glint-aligned'))
      .sort()
      .slice(0, 4)
      .flatMap((person) => files(faces('glint-aligned', person), 3));
    for (const file of crops) {
      const image = await decodeImage(readFileSync(file), LIMIT);
      const none = await pipeline.analyze(image, { fallback: 'none' });
      const found = await pipeline.analyze(image, { fallback: 'face-crop' });
      t.equal(found.length >= 1, true, `${path.basename(file)}: a face`);
      if (none.length === 0) t.not(found[0]!.via, 'detector', 'found by a fallback when the detector alone missed it');
      vias.set(found[0]!.via, (vias.get(found[0]!.via) ?? 0) + 1);
    }
    t.ok(vias.size >= 1, `found via ${JSON.stringify(Object.fromEntries(vias))}`);
  });
}
