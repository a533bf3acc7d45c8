// The picture inside a video frame's black bars (a film letterboxed, a 4:3 show pillarboxed): where faces can be.
import type { Box, RgbImage } from './types.js';

/**
 * A pixel no brighter than this in any channel is black. Bars decoded from limited-range video come
 * out at 0–8 with compression noise; ffmpeg's cropdetect takes 24 on luma. A face, even in a dark
 * scene, has brighter pixels than that.
 */
const BLACK = 24;
/** Every this many pixels of a row or a column are looked at. */
const STEP = 4;
/** Bars thinner than this fraction of the frame's side are left: not worth another pass size. */
const MIN_BARS = 0.05;
/** Rows and columns kept beyond the picture's edge. */
const MARGIN = 2;

/**
 * The region of `image` inside black bars: rows at the top and bottom, columns at the left and right,
 * every sampled pixel of which is black. The whole image when the bars are thin (under MIN_BARS of
 * the side together) or when more than half of it is black (a fade, a dark scene: nothing to go by).
 * Measured on the labelled film scenes: 854×480 with the picture in 854×356, 640×360 in 640×282.
 * In whole pixels of the image.
 */
export function pictureRegion(image: RgbImage): Box {
  const { width, height, data } = image;
  const whole = { x: 0, y: 0, width, height };
  const black = (i: number) => data[i]! <= BLACK && data[i + 1]! <= BLACK && data[i + 2]! <= BLACK;
  const rowBlack = (y: number) => {
    for (let x = 0; x < width; x += STEP) if (!black((y * width + x) * 3)) return false;
    return black((y * width + width - 1) * 3);
  };
  let top = 0;
  while (top < height / 2 && rowBlack(top)) top++;
  if (top >= height / 2) return whole;
  let bottom = height;
  while (bottom > top && rowBlack(bottom - 1)) bottom--;
  const columnBlack = (x: number) => {
    for (let y = top; y < bottom; y += STEP) if (!black((y * width + x) * 3)) return false;
    return black(((bottom - 1) * width + x) * 3);
  };
  let left = 0;
  while (left < width / 2 && columnBlack(left)) left++;
  if (left >= width / 2) return whole;
  let right = width;
  while (right > left && columnBlack(right - 1)) right--;
  if (top + height - bottom < MIN_BARS * height) [top, bottom] = [0, height];
  if (left + width - right < MIN_BARS * width) [left, right] = [0, width];
  top = Math.max(0, top - MARGIN);
  bottom = Math.min(height, bottom + MARGIN);
  left = Math.max(0, left - MARGIN);
  right = Math.min(width, right + MARGIN);
  return { x: left, y: top, width: right - left, height: bottom - top };
}
