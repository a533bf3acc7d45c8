// The reference backend (face-api on TensorFlow.js WASM) leaks no tensor over 50 recognitions.
// In `npm run test:slow` (CI runs it): 50 full passes on the WASM backend take most of a minute.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { decodeImage } from '../../src/vision/decode.js';
import { FacePipeline } from '../../src/vision/pipeline.js';
import { TfjsFaceBackend } from '../../src/vision/tfjs-backend.js';
import { datasetsMissing, faces } from '../helpers/datasets.js';

const missing = datasetsMissing();
const LIMIT = { maxPixels: 40_000_000 };

const first = (dir: string) => path.join(dir, readdirSync(dir).sort()[0]!);

if (missing) {
  t.plan(0, missing);
} else {
  t.test('reference backend: 50 recognitions leave no tensor behind', async (t) => {
    const backend = new TfjsFaceBackend({ detector: 'ssd' });
    await backend.start();
    t.teardown(() => backend.stop());
    const pipeline = new FacePipeline(backend, { minScore: 0.5, maxFaces: 20 });
    const image = await decodeImage(readFileSync(first(faces('lfw', 'Tony Blair'))), LIMIT);
    // The first run may allocate lasting state (weights are already loaded); count after it.
    const found = (await pipeline.analyze(image)).length;
    t.ok(found >= 1, `${found} faces`);
    const before = backend.tensorCount();
    let seen = 0;
    for (let i = 0; i < 50; i++) seen += (await pipeline.analyze(image, { fallback: 'retry' })).length;
    t.equal(seen, 50 * found, 'the same faces each time');
    t.equal(backend.tensorCount(), before, `tensor count back to ${before}`);
  });
}
