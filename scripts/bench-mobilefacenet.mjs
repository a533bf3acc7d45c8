#!/usr/bin/env node
// `node scripts/bench-mobilefacenet.mjs` (after `npm run build`): ms per face of MobileFaceNet against face-api's descriptor, in one run.
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { faceModelPath } from '../dist/src/vision/onnx/model-cache.js';
import { mobileFaceNetModelPath } from '../dist/src/vision/onnx/mobilefacenet.js';
import { OnnxFaceBackend } from '../dist/src/vision/onnx/onnx-backend.js';

const THREADS = Number(process.env.THREADS ?? 2);
// onnx-backend.ts's session settings, so that both networks run alike.
const SESSION = {
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  interOpNumThreads: 1,
  intraOpNumThreads: THREADS,
  logSeverityLevel: 3,
  extra: { session: { force_spinning_stop: '1' } },
};

const bytes = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 7919) % 251);
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

const backend = new OnnxFaceBackend({ intraOpNumThreads: THREADS });
await backend.start();
const faceApi = await ort.InferenceSession.create(await faceModelPath('recognition'), SESSION);
const mobileFaceNet = await ort.InferenceSession.create(await mobileFaceNetModelPath(), SESSION);

const runners = {
  // As the pipeline calls it: RGB chips through writeSquare, to the worker thread and back.
  'face-api 128-d, backend.embed (150 px)': (n) => {
    const chips = Array.from({ length: n }, () => ({ data: bytes(150 * 150 * 3), width: 150, height: 150 }));
    return () => backend.embed(chips);
  },
  'face-api 128-d, session.run (150 px)': (n) => {
    const image = new ort.Tensor('float32', Float32Array.from(bytes(n * 150 * 150 * 3)), [n, 150, 150, 3]);
    return () => faceApi.run({ image });
  },
  'MobileFaceNet 192-d, session.run (112 px, uint8)': (n) => {
    const image = new ort.Tensor('uint8', bytes(n * 112 * 112 * 3), [n, 112, 112, 3]);
    return () => mobileFaceNet.run({ image });
  },
};

for (const [n, rounds] of [
  [1, 30],
  [16, 6],
]) {
  const calls = Object.fromEntries(Object.entries(runners).map(([k, make]) => [k, make(n)]));
  const wall = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
  const cpu = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
  for (const call of Object.values(calls)) await call();
  // Interleaved, so that load from elsewhere on the machine falls on every network alike, each
  // timed call after an untimed one, so that none pays for the others having filled the caches.
  // CPU time (this process, all threads) is the work done, which other processes' load changes less.
  for (let r = 0; r < rounds; r++) {
    for (const [k, call] of Object.entries(calls)) {
      await call();
      const [t0, c0] = [performance.now(), process.cpuUsage()];
      await call();
      const c = process.cpuUsage(c0);
      wall[k].push((performance.now() - t0) / n);
      cpu[k].push((c.user + c.system) / 1000 / n);
    }
  }
  for (const k of Object.keys(calls)) {
    const [w, c] = [wall[k], cpu[k]];
    console.log(
      `batch ${String(n).padStart(2)}  ${k.padEnd(50)} wall ${median(w).toFixed(2)} ms per face (min ${Math.min(...w).toFixed(2)}), CPU ${median(c).toFixed(2)} ms per face; medians of ${rounds}`,
    );
  }
}
console.log(
  `load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${os.availableParallelism()} cores`,
);
console.log(`onnxruntime-node ${ort.env.versions.common}, ${THREADS} intra-op threads`);
await backend.stop();
