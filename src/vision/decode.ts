// Decodes JPEG, PNG and WebP bytes to RGB with sharp, honouring EXIF orientation and a pixel limit.
import { RecognizerError } from '../errors.js';
import { loadSharp } from './sharp.js';
import type { Box, RgbImage } from './types.js';

export const SUPPORTED_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (a decompression bomb must not take the process down). */
  maxPixels: number;
  /**
   * Decode straight to at most this many pixels on the long side: sharp shrinks JPEG and WebP while
   * decoding, and streams PNG through the resize, so a large image never exists at full size in
   * memory (a 6000×6000 PNG took 1.6 GB of RSS through the pipeline at full size; issue 16).
   */
  maxSide?: number;
}

/** A decoded image and how much it was shrunk: boxes found in it are multiplied by `scale` to get the original's pixels. */
export interface DecodedImage extends RgbImage {
  /** Original pixels per decoded pixel (1: decoded at full size). */
  readonly scale: number;
}

const FORMATS = new Set(['jpeg', 'png', 'webp']);

/**
 * Decodes an image to packed RGB. Throws IMAGE_INVALID for bytes that are not a whole JPEG, PNG or
 * WebP image, IMAGE_TOO_LARGE over the pixel limit (checked from the header, before decoding).
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<DecodedImage> {
  const sharp = await loadSharp();
  if (bytes.length === 0) throw new RecognizerError('IMAGE_INVALID', 'the image is empty');
  let format: string | undefined;
  let width = 0;
  let height = 0;
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    format = meta.format;
    // EXIF orientations 5 to 8 turn the image a quarter: its shown width is the stored height.
    const turned = (meta.orientation ?? 1) >= 5;
    width = (turned ? meta.height : meta.width) ?? 0;
    height = (turned ? meta.width : meta.height) ?? 0;
  } catch (err) {
    throw new RecognizerError('IMAGE_INVALID', 'the bytes are not a readable image', { cause: err });
  }
  if (!format || !FORMATS.has(format)) {
    throw new RecognizerError('IMAGE_UNSUPPORTED', `unsupported image format ${format ?? 'unknown'}: use JPEG, PNG or WebP`);
  }
  if (width * height > options.maxPixels) {
    throw new RecognizerError('IMAGE_TOO_LARGE', `the image has ${width}×${height} pixels, over the limit of ${options.maxPixels}`);
  }
  try {
    // failOn 'error' refuses truncated files instead of decoding half an image with grey below.
    const max = options.maxSide;
    const shrink = max !== undefined && Math.max(width, height) > max;
    let pipeline = sharp(bytes, { limitInputPixels: options.maxPixels, failOn: 'error', sequentialRead: true }).rotate();
    if (shrink) pipeline = pipeline.resize({ width: max, height: max, fit: 'inside', withoutEnlargement: true });
    const { data, info } = await pipeline.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    const scale = shrink ? Math.max(width, height) / Math.max(info.width, info.height) : 1;
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, scale };
  } catch (err) {
    throw new RecognizerError('IMAGE_INVALID', 'the image does not decode (truncated or corrupt)', { cause: err });
  }
}

/** A box found in a {@link DecodedImage}, in the original image's pixels. */
export function originalBox(box: Box, scale: number): Box {
  const r = (v: number) => Math.round(v * scale * 10) / 10;
  return scale === 1 ? box : { x: r(box.x), y: r(box.y), width: r(box.width), height: r(box.height) };
}
