// The same top-1 on the tfjs reference backend as on onnx, through the CLI: train, then eval --json on each.
// In `npm run test:slow` (CI runs it): the tfjs backend embeds every photo again, minutes on a small machine.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cliJson } from '../helpers/cli.js';
import { datasetsMissing, faces } from '../helpers/datasets.js';

interface Eval {
  top1: number;
}

t.test('five-celebrities with face-api-68: at least 90% of val named, the same top-1 on the tfjs reference backend', { skip: datasetsMissing() }, async (t) => {
  // The tfjs reference backend runs face-api's networks only: the parity is of face-api's embedder.
  const faceApi = { ACTOR_RECOGNIZER_VISION_EMBEDDER: 'face-api-68' };
  const outFaceApi = await mkdtemp(path.join(os.tmpdir(), 'ar-five-face-api-'));
  await cliJson(['train', '--dataset', faces('five-celebrities', 'train'), '--out', outFaceApi], faceApi);
  const onnx = await cliJson<Eval>(['eval', '--model', outFaceApi, '--dataset', faces('five-celebrities', 'val')], faceApi);
  const reference = await cliJson<Eval>(['eval', '--model', outFaceApi, '--dataset', faces('five-celebrities', 'val')], {
    ...faceApi,
    ACTOR_RECOGNIZER_VISION_BACKEND: 'tfjs',
  });
  t.ok(onnx.top1 >= 0.9, `face-api-68 top-1 ${onnx.top1}`);
  t.ok(Math.abs(reference.top1 - onnx.top1) <= 0.005, `the same top-1 on the tfjs reference backend (${reference.top1}) as on onnx (${onnx.top1})`);
});
