// The int8 detector and embedder (vision.quantize: int8): the float graph rewritten with the committed calibration ranges.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { QUANTIZE_REVISION, quantizeGraph, type QuantRanges } from '../../onnx/quantize.js';
import type { GraphBuilder } from '../../onnx/writer.js';
import { ssdBytesIn, ssdNormalisedInput } from './ssd-graph.js';
import { projectRoot } from '../../util/project-root.js';

/**
 * Which networks run int8 (vision.quantize): none, the detector's second look only (the strips of a
 * video frame; the whole-frame pass and photos stay float), the second look and photos (a video
 * frame's whole pass stays float), the detector (SSD), or all (the detector and MobileFaceNet, whose
 * embeddings then differ: see embedder.ts).
 */
export const QUANTIZE_MODES = ['none', 'second-look', 'photos-and-second-look', 'detector', 'all'] as const;
export type Quantize = (typeof QUANTIZE_MODES)[number];

/** Networks that have an int8 form. */
export type QuantNetwork = 'ssd' | 'mobilefacenet';

/** Where each network's ranges were measured (scripts/calibrate-int8.mjs). */
export const QUANT_SOURCES: Record<QuantNetwork, string> = {
  ssd: 'faces/movie-matcher (first photo of 40 people) and faces/bbt-group-shots',
  mobilefacenet: 'faces/glint-aligned (first 3 aligned chips of each person)',
};

/** Path of the committed ranges of `network`: models/quant/<network>.json. */
export function quantRangesPath(network: QuantNetwork): string {
  return path.join(projectRoot(), 'models', 'quant', `${network}.json`);
}

/**
 * The ranges, and the tag that names the cached int8 graph: the pass's revision and a short digest
 * of the ranges, so that a recalibration or a changed pass rebuilds it.
 */
export async function loadQuantRanges(network: QuantNetwork): Promise<{ ranges: QuantRanges; digest: string }> {
  const bytes = await readFile(quantRangesPath(network));
  const ranges = JSON.parse(bytes.toString('utf8')) as QuantRanges;
  if (ranges.network !== network) throw new Error(`${quantRangesPath(network)} holds the ranges of ${ranges.network}, not ${network}`);
  return { ranges, digest: `r${QUANTIZE_REVISION}-${createHash('sha256').update(bytes).digest('hex').slice(0, 8)}` };
}

/** `graph` quantised in place with `ranges`. */
export function quantized(graph: GraphBuilder, ranges: QuantRanges): GraphBuilder {
  quantizeGraph(graph, ranges);
  return graph;
}

/**
 * The range of the SSD's normalised input whose uint8 form is the pixel's own byte: scale 1/127.5,
 * zero point 128 (activationParams), where the calibrated range gives 1.0044 levels a byte.
 */
const BYTE_RANGE = [-128 / 127.5, 127 / 127.5] as const;

/**
 * The SSD quantised with `ranges`, its first convolution reading the image's bytes as they are
 * (ssdBytesIn): padded and resized as uint8, never made float.
 */
export function quantizedSsd(graph: GraphBuilder, ranges: QuantRanges): GraphBuilder {
  quantizeGraph(graph, { ...ranges, tensors: { ...ranges.tensors, [ssdNormalisedInput(graph)]: BYTE_RANGE } });
  ssdBytesIn(graph);
  return graph;
}
