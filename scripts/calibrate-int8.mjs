#!/usr/bin/env node
// Measures the activation ranges of the int8 detector and embedder (vision.quantize: int8) and writes
// models/quant/<network>.json: two numbers per tensor, no images, no weights. `npm run calibrate-int8`
// (builds first); `node scripts/calibrate-int8.mjs ssd` (or mobilefacenet) redoes one network.
// Photos from ../shared/datasets (or $ACTOR_RECOGNIZER_DATASETS): the detector sees the first photo of
// 40 film actors of faces/movie-matcher and the group shots of faces/bbt-group-shots; the embedder the
// first 3 aligned chips of each glint-aligned person (ranges only: min and max per tensor).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(path.join(root, 'dist/src', p));
const { calibrationTensors } = await dist('onnx/quantize.js');
const { compileSsd } = await dist('vision/onnx/ssd-graph.js');
const { loadWeights } = await dist('vision/onnx/weights.js');
const { faceApiModelDir } = await dist('vision/face-api.js');
const { compileMobileFaceNet, mobileFaceNetTflitePath } = await dist('vision/onnx/mobilefacenet.js');
const { QUANT_SOURCES } = await dist('vision/onnx/int8-models.js');
const { anchorCentersAndSizes, ssdAnchors } = await dist('vision/onnx/ssd-anchors.js');

const datasets = path.resolve(root, process.env.ACTOR_RECOGNIZER_DATASETS ?? '../shared/datasets');
const faces = (...p) => path.join(datasets, 'faces', ...p);
const list = async (dir) => (await readdir(dir)).sort();

async function photos(folder, perPerson, people) {
  const out = [];
  for (const person of (await list(folder)).slice(0, people)) {
    const files = (await list(path.join(folder, person))).filter((f) => /\.(jpe?g|png|webp)$/i.test(f));
    out.push(...files.slice(0, perPerson).map((f) => path.join(folder, person, f)));
  }
  return out;
}

async function rgb(file, size) {
  const img = sharp(file).removeAlpha();
  if (size) img.resize(size, size, { fit: 'fill' });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

const BINS = 2048;

/**
 * The clipping range of one tensor with the least expected error once quantised to 256 levels:
 * among ranges cut at the histogram's 99.9th to 100th percentile on each side, the one minimising
 * clipping error plus rounding error (scale² / 12 per value). Plain min/max let a few outliers
 * (values of 300 where most stay below 10) set the step, and MobileFaceNet lost 7% cosine to it.
 */
function bestRange(hist, lo, hi) {
  const width = (hi - lo) / BINS;
  const total = hist.reduce((a, b) => a + b, 0);
  const cut = (fraction, fromTop) => {
    let seen = 0;
    for (let k = 0; k < BINS; k++) {
      const i = fromTop ? BINS - 1 - k : k;
      seen += hist[i];
      if (seen > total * fraction) return fromTop ? lo + (i + 1) * width : lo + i * width;
    }
    return fromTop ? lo : hi;
  };
  let best = { lo, hi, error: Infinity };
  for (const f of [0, 1e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3]) {
    const a = Math.min(0, cut(f, false));
    const b = Math.max(0, cut(f, true));
    const step = (b - a) / 255;
    let error = 0;
    for (let i = 0; i < BINS; i++) {
      const v = lo + (i + 0.5) * width;
      const e = v < a ? (a - v) ** 2 : v > b ? (v - b) ** 2 : (step * step) / 12;
      error += hist[i] * e;
    }
    if (error < best.error) best = { lo: a, hi: b, error };
  }
  return [best.lo, best.hi];
}

/** The SSD graph's other inputs for face-api's square (as the backend's detect() feeds them): padded to the long side, seen at 512. */
function squareFeeds(image) {
  const side = Math.max(image.width, image.height);
  const { center, size } = anchorCentersAndSizes(ssdAnchors(512, 512));
  return {
    layout: new ort.Tensor('int64', BigInt64Array.from([side, side, 512, 512], BigInt), [4]),
    anchor_center: new ort.Tensor('float32', center, [center.length / 2, 2]),
    anchor_size: new ort.Tensor('float32', size, [size.length / 2, 2]),
  };
}

async function calibrate(network, graph, files, size, batch) {
  const tensors = calibrationTensors(graph);
  for (const t of tensors) graph.output(t, 'float32');
  const session = await ort.InferenceSession.create(graph.toModel(), { intraOpNumThreads: 2, graphOptimizationLevel: 'disabled' });
  const images = [];
  for (const file of files) images.push(await rgb(file, size));
  const pass = async (visit) => {
    for (const image of images) {
      const feeds = { image: new ort.Tensor('uint8', image.data, batch ? [1, size, size, 3] : [1, image.height, image.width, 3]) };
      if (network === 'ssd') Object.assign(feeds, squareFeeds(image));
      const out = await session.run(feeds, tensors);
      for (const t of tensors) visit(t, out[t].data);
    }
  };
  // Two passes: the extremes, then a histogram between them.
  const extremes = Object.fromEntries(tensors.map((t) => [t, [Infinity, -Infinity]]));
  await pass((t, data) => {
    const r = extremes[t];
    for (const v of data) {
      if (v < r[0]) r[0] = v;
      if (v > r[1]) r[1] = v;
    }
  });
  const hists = Object.fromEntries(tensors.map((t) => [t, new Float64Array(BINS)]));
  await pass((t, data) => {
    const [lo, hi] = extremes[t];
    const h = hists[t];
    const k = BINS / Math.max(hi - lo, 1e-12);
    for (const v of data) h[Math.min(BINS - 1, Math.floor((v - lo) * k))]++;
  });
  await session.release();
  const round = (v) => Number(v.toPrecision(6));
  const rounded = Object.fromEntries(tensors.map((t) => [t, bestRange(hists[t], ...extremes[t]).map(round)]));
  const file = path.join(root, 'models/quant', `${network}.json`);
  const body = { network, images: files.length, source: QUANT_SOURCES[network], method: 'least squared error over histogram cuts', tensors: rounded };
  await writeFile(file, JSON.stringify(body, null, 1) + '\n');
  console.log(`${network}: ${tensors.length} tensors over ${files.length} images -> ${path.relative(root, file)}`);
}

const detectorPhotos = [...(await photos(faces('movie-matcher'), 1, 40)), ...(await list(faces('bbt-group-shots'))).map((f) => faces('bbt-group-shots', f))];
const only = process.argv[2];
if (!only || only === 'ssd') await calibrate('ssd', compileSsd(await loadWeights(faceApiModelDir(), 'ssd_mobilenetv1_model')), detectorPhotos, 0, false);
const chips = await photos(faces('glint-aligned'), 3, 100);
if (!only || only === 'mobilefacenet')
  await calibrate('mobilefacenet', compileMobileFaceNet(new Uint8Array(await readFile(mobileFaceNetTflitePath()))), chips, 112, true);
