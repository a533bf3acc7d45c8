// Decodes JPEG, PNG and WebP bytes to RGB with sharp, honouring EXIF orientation and a pixel limit.
import sharp from 'sharp';
import { RecognizerError } from '../errors.js';
import type { RgbImage } from './types.js';

export const SUPPORTED_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;

export interface DecodeOptions {
  /** Refuse images with more pixels than this (a decompression bomb must not take the process down). */
  maxPixels: number;
}

const FORMATS = new Set(['jpeg', 'png', 'webp']);

/**
 * Decodes an image to packed RGB. Throws IMAGE_INVALID for bytes that are not a whole JPEG, PNG or
 * WebP image, IMAGE_TOO_LARGE over the pixel limit (checked from the header, before decoding).
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<RgbImage> {
  if (bytes.length === 0) throw new RecognizerError('IMAGE_INVALID', 'the image is empty');
  let format: string | undefined;
  let width = 0;
  let height = 0;
  try {
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    format = meta.format;
    width = meta.width ?? 0;
    height = meta.height ?? 0;
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
    const { data, info } = await sharp(bytes, { limitInputPixels: options.maxPixels, failOn: 'error' })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
  } catch (err) {
    throw new RecognizerError('IMAGE_INVALID', 'the image does not decode (truncated or corrupt)', { cause: err });
  }
}

/** Encodes RGB as JPEG, for snapshots and debugging. */
export async function encodeJpeg(image: RgbImage, quality = 85): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).jpeg({ quality }).toBuffer();
}
