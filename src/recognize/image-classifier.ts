// Feeding an image classifier: face chips resized and normalised exactly as its manifest's contract says.
import * as ort from 'onnxruntime-node';
import { RecognizerError } from '../errors.js';
import { CHIP_SIZE, type RgbImage } from '../vision/types.js';
import type { ImageContract } from './manifest.js';

/**
 * Source positions and weights of a bilinear resize from `from` to `to` samples with half-pixel
 * centres and no antialiasing, computed as PyTorch's `interpolate(mode='bilinear',
 * align_corners=False)` does, so that the trainer's preprocessing and ours agree to float rounding.
 */
function taps(from: number, to: number): { low: Int32Array; high: Int32Array; weight: Float32Array } {
  const scale = from / to;
  const low = new Int32Array(to);
  const high = new Int32Array(to);
  const weight = new Float32Array(to);
  for (let i = 0; i < to; i++) {
    const source = Math.max(0, (i + 0.5) * scale - 0.5);
    const lo = Math.min(Math.floor(source), from - 1);
    low[i] = lo;
    high[i] = Math.min(lo + 1, from - 1);
    weight[i] = source - lo;
  }
  return { low, high, weight };
}

/** One chip as the model's input values (width×height×3, in layout order), written into `out` at `offset`. */
function writeChip(chip: RgbImage, contract: ImageContract, out: Float32Array, offset: number): void {
  const { width, height, mean, std } = contract;
  const xs = taps(chip.width, width);
  const ys = taps(chip.height, height);
  const plane = width * height;
  const channels = contract.colour === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  const src = chip.data;
  const stride = chip.width * 3;
  for (let y = 0; y < height; y++) {
    const row0 = ys.low[y]! * stride;
    const row1 = ys.high[y]! * stride;
    const wy = ys.weight[y]!;
    for (let x = 0; x < width; x++) {
      const c0 = xs.low[x]! * 3;
      const c1 = xs.high[x]! * 3;
      const wx = xs.weight[x]!;
      for (let k = 0; k < 3; k++) {
        const c = channels[k]!;
        const top = src[row0 + c0 + c]! * (1 - wx) + src[row0 + c1 + c]! * wx;
        const bottom = src[row1 + c0 + c]! * (1 - wx) + src[row1 + c1 + c]! * wx;
        const value = ((top * (1 - wy) + bottom * wy) / 255 - mean[k]!) / std[k]!;
        out[offset + (contract.layout === 'NCHW' ? k * plane + y * width + x : (y * width + x) * 3 + k)] = value;
      }
    }
  }
}

/** A batch of chips as the model's input tensor. */
export function imageTensor(chips: readonly RgbImage[], contract: ImageContract): ort.Tensor {
  const size = contract.width * contract.height * 3;
  const data = new Float32Array(chips.length * size);
  chips.forEach((chip, i) => writeChip(chip, contract, data, i * size));
  const dims = contract.layout === 'NCHW' ? [3, contract.height, contract.width] : [contract.height, contract.width, 3];
  return new ort.Tensor('float32', data, [chips.length, ...dims]);
}

/** A mid-grey chip for the warm-up inference. */
export function greyChip(): RgbImage {
  return { data: new Uint8Array(CHIP_SIZE * CHIP_SIZE * 3).fill(128), width: CHIP_SIZE, height: CHIP_SIZE };
}

/**
 * Refuses a graph whose image input disagrees with the contract: a rank other than 4, or a fixed
 * channel, height or width that differs from the manifest's (a dimension left free passes).
 */
export function checkImageInput(session: ort.InferenceSession, contract: ImageContract, version: string): void {
  const meta = session.inputMetadata.find((m) => m.name === contract.name);
  if (!meta || !meta.isTensor) throw new RecognizerError('MODEL_GRAPH_INVALID', `bundle ${version}: the graph has no tensor input ${contract.name}`);
  const want = contract.layout === 'NCHW' ? [3, contract.height, contract.width] : [contract.height, contract.width, 3];
  const got = meta.shape.slice(1);
  const fixed = (d: number | string | undefined) => typeof d === 'number' && d > 0;
  if (meta.shape.length !== 4 || want.some((d, i) => fixed(got[i]) && got[i] !== d)) {
    throw new RecognizerError(
      'MODEL_GRAPH_INVALID',
      `bundle ${version}: the graph takes ${contract.name} of shape [${meta.shape.join(', ')}], the manifest says ${contract.layout} ${contract.width}×${contract.height} (batch, ${want.join(', ')})`,
    );
  }
}
