// Video frames: the whole frame at its own aspect, and a second look for small faces (the frame seen larger, or overlapping tiles).
import type { Box, Detection, DetectOptions, FaceBackend, RgbImage } from './types.js';
import { intersection, iou, suppress } from './boxes.js';
import { pictureRegion } from './picture.js';

/** Tiles are never cut smaller than this: the detector sees a tile at 512 px, and more zoom only blurs. */
const MIN_TILE = 256;
/** Neighbouring tiles overlap by this fraction of their side, so a face on a seam is whole in one of them. */
const OVERLAP = 0.25;
/** A face this large (fraction of the tile's side) is the whole frame's pass's to find. */
const MAX_FACE_IN_TILE = 0.45;
const NMS_IOU = 0.4;
/** The side the detector scales its input to unless DetectOptions.side says otherwise (SSD MobileNet's 512). */
export const DETECTOR_SIDE = 512;

export interface Tile {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Square tiles of side max(width, height) / zoom (at least MIN_TILE), covering the image with
 * overlap; none when the tile would be the whole image. The detector scales every input to its own
 * side, so a face in a tile is seen `zoom` times larger than in the whole frame.
 */
export function tileGrid(width: number, height: number, zoom: number): Tile[] {
  // An image the detector already sees at full size or larger has nothing small left to find.
  if (!(zoom > 1) || Math.max(width, height) <= DETECTOR_SIDE) return [];
  const side = Math.max(MIN_TILE, Math.round(Math.max(width, height) / zoom));
  if (side >= Math.max(width, height)) return [];
  const along = (length: number): { start: number; size: number }[] => {
    if (side >= length) return [{ start: 0, size: length }];
    const count = Math.ceil((length - side * OVERLAP) / (side * (1 - OVERLAP)));
    const step = (length - side) / (count - 1);
    return Array.from({ length: count }, (_, i) => ({ start: Math.round(i * step), size: side }));
  };
  return along(height).flatMap((row) => along(width).map((col) => ({ x: col.start, y: row.start, width: col.size, height: row.size })));
}

/**
 * The pixels of `tile`: the image itself when the tile is all of it, a view of its rows when the tile
 * spans its width (a letterbox's picture, a strip down a tall frame), else a copy.
 */
export function cropImage(image: RgbImage, tile: Tile): RgbImage {
  if (tile.x === 0 && tile.width === image.width) {
    if (tile.y === 0 && tile.height === image.height) return image;
    const row = image.width * 3;
    return { data: image.data.subarray(tile.y * row, (tile.y + tile.height) * row), width: image.width, height: tile.height };
  }
  const data = new Uint8Array(tile.width * tile.height * 3);
  for (let y = 0; y < tile.height; y++) {
    const from = ((tile.y + y) * image.width + tile.x) * 3;
    data.set(image.data.subarray(from, from + tile.width * 3), y * tile.width * 3);
  }
  return { data, width: tile.width, height: tile.height };
}

/**
 * The most pixels one pass of the second look shows the detector: 512×512, the square a photo is
 * seen at. onnxruntime's arena grows in powers of two to the largest pass's activations and keeps
 * them, so a pass larger than a photo's sets the daemon's memory. Two cameras at 854×480 (looping
 * the Avengers scene, 5 fps, RSS every 5 s for a minute): 317–324 MiB with two strips of 577×576 per
 * second look, 286–298 with three of 427×576, and `bench --scan` no slower (3.83 and 4.24× real time
 * against 3.82 and 3.81×, alternated). Earlier, on 640×360 against the 6 tiles: one pass at
 * 1024×576 +63–72 MiB over the tiles; two strips at 576×576 +29 MiB. A backend whose second-look
 * passes keep no arena allows more to a look taken whole (FaceBackend.wholeLookPixels).
 */
const MAX_PASS_PIXELS = 512 * 512;

/**
 * Faces of a video frame. A backend that detects at any size (SSD on onnxruntime) sees the frame at
 * its own aspect, long side 512 (what face-api's square shows of it, without the padding), and for
 * the second look the frame `zoom` times larger, in as few strips across its long side as keep each
 * pass under MAX_PASS_PIXELS (640×360: three strips of 267×360 seen at 427×576, against 6 tiles of
 * 512×512; see docs/pipeline.md), or under the backend's wholeLookPixels for a look taken whole
 * (640×360: one pass at 1024×576). From the second look it keeps the faces the tiles would have kept
 * (no larger than MAX_FACE_IN_TILE of a tile's side, not cut by a strip's inner edge), since the
 * whole pass finds the large ones. Other backends: {@link detectWithTiles}.
 */
export async function detectFrame(backend: FaceBackend, image: RgbImage, options: DetectOptions): Promise<Detection[]> {
  const zoom = options.tileZoom ?? 0;
  const second = tileGrid(image.width, image.height, zoom).length > 0;
  if (!backend.detectScaled) return second ? detectWithTiles(backend, image, options, zoom) : backend.detect(image, options);
  const long = Math.max(image.width, image.height);
  const whole = await backend.detectScaled(image, (options.side ?? DETECTOR_SIDE) / long, options, options.video ? 'frame' : 'photo');
  if (!second) return whole;
  // A video frame's black bars hold no face: the second look sees the picture inside them, at the
  // scale the whole frame would have had (the faces the same size to the detector, fewer pixels).
  const region = options.video ? pictureRegion(image) : { x: 0, y: 0, width: image.width, height: image.height };
  const picture = cropImage(image, region);
  const found = [...whole];
  const { strips, side, scale } = secondLookStrips(picture.width, picture.height, long, options, backend.wholeLookPixels);
  for (const strip of onlyPart(strips, options.part)) {
    for (const d of await backend.detectScaled(cropImage(picture, strip), scale, options, 'second-look')) {
      const box = { x: d.box.x + strip.x, y: d.box.y + strip.y, width: d.box.width, height: d.box.height };
      if (Math.max(box.width, box.height) > MAX_FACE_IN_TILE * side || cutByTile(box, strip, picture)) continue;
      found.push({ box: { ...box, x: box.x + region.x, y: box.y + region.y }, score: d.score });
    }
  }
  return suppressFaces(found).slice(0, options.maxFaces);
}

/**
 * The second look's strips of a `width`×`height` picture (SSD at any size) in a frame whose long side
 * is `long` (the picture is the frame, or the part of it inside black bars), their side in the
 * frame's pixels, and their scale. A look taken whole (no DetectOptions.part) on a backend whose passes keep
 * no arena (FaceBackend.wholeLookPixels) is taken in as few passes as that allows.
 */
function secondLookStrips(
  width: number,
  height: number,
  long: number,
  options: DetectOptions,
  wholeLookPixels?: number,
): { strips: Tile[]; side: number; scale: number } {
  const side = Math.max(MIN_TILE, Math.round(long / (options.tileZoom ?? 0)));
  const scale = (options.side ?? DETECTOR_SIDE) / side;
  const most = options.part === undefined && wholeLookPixels ? Math.max(wholeLookPixels, MAX_PASS_PIXELS) : MAX_PASS_PIXELS;
  return { strips: stripGrid(width, height, scale, side * OVERLAP, most), side, scale };
}

/**
 * Detector passes in the second look of a `width`×`height` frame (strips on a backend that detects
 * at any size, over `picture`, the frame inside its black bars: see detectFrame; else tiles); 0 when
 * it takes none. A live camera takes them one per frame ({@link DetectOptions.part}).
 */
export function secondLookPasses(
  width: number,
  height: number,
  options: DetectOptions,
  scaled: boolean,
  picture: { width: number; height: number } = { width, height },
): number {
  const tiles = tileGrid(width, height, options.tileZoom ?? 0);
  if (tiles.length === 0) return 0;
  return scaled ? secondLookStrips(picture.width, picture.height, Math.max(width, height), options).strips.length : tiles.length;
}

/** The one pass `part` asks for (modulo their number), or all of them. */
function onlyPart<T>(passes: T[], part: number | undefined): T[] {
  return part === undefined ? passes : [passes[part % passes.length]!];
}

/** Strips across the long side of the image, overlapping by `overlap` px, each at most `most` pixels once scaled. */
export function stripGrid(width: number, height: number, scale: number, overlap: number, most = MAX_PASS_PIXELS): Tile[] {
  const count = Math.max(1, Math.ceil((width * height * scale * scale) / most));
  if (count === 1) return [{ x: 0, y: 0, width, height }];
  const alongX = width >= height;
  const length = alongX ? width : height;
  const size = Math.min(length, Math.ceil((length + (count - 1) * overlap) / count));
  const step = (length - size) / (count - 1);
  return Array.from({ length: count }, (_, i) => {
    const start = Math.round(i * step);
    return alongX ? { x: start, y: 0, width: size, height } : { x: 0, y: start, width, height: size };
  });
}

/**
 * Faces of the whole frame, plus the small ones only the tiles show. A tile's face that touches a
 * tile edge inside the image is cut by it, and left to the neighbouring tile that holds it whole.
 */
export async function detectWithTiles(backend: FaceBackend, image: RgbImage, options: DetectOptions, zoom: number): Promise<Detection[]> {
  const whole = await backend.detect(image, options);
  const found = [...whole];
  for (const tile of onlyPart(tileGrid(image.width, image.height, zoom), options.part)) {
    for (const d of await backend.detect(cropImage(image, tile), options)) {
      const box = { x: d.box.x + tile.x, y: d.box.y + tile.y, width: d.box.width, height: d.box.height };
      if (Math.max(box.width, box.height) > MAX_FACE_IN_TILE * tile.width || cutByTile(box, tile, image)) continue;
      found.push({ box, score: d.score });
    }
  }
  return suppressFaces(found).slice(0, options.maxFaces);
}

function cutByTile(box: Box, tile: Tile, image: RgbImage): boolean {
  const margin = 2;
  return (
    (box.x <= tile.x + margin && tile.x > 0) ||
    (box.y <= tile.y + margin && tile.y > 0) ||
    (box.x + box.width >= tile.x + tile.width - margin && tile.x + tile.width < image.width) ||
    (box.y + box.height >= tile.y + tile.height - margin && tile.y + tile.height < image.height)
  );
}

/** Non-maximum suppression of the passes' faces: a box overlapping a better one, or mostly inside it, is the same face. */
function suppressFaces(detections: Detection[]): Detection[] {
  return suppress(detections, (kept, box) => iou(kept, box) > NMS_IOU || contains(kept, box));
}

/** Whether most of `inner` lies inside `outer` (a part of a face found again as a face of its own). */
function contains(outer: Box, inner: Box): boolean {
  return intersection(outer, inner) / (inner.width * inner.height) > 0.7;
}
