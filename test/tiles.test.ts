// The second look for small faces: tiles that cover the frame, and detections merged back into it.
import t from 'tap';
import { FrameAnalyzer } from '../src/track/frame-analyzer.js';
import { embedderSpec } from '../src/vision/embedder.js';
import { FacePipeline } from '../src/vision/pipeline.js';
import { cropImage, detectFrame, detectWithTiles, secondLookPasses, stripGrid, tileGrid } from '../src/vision/tiles.js';
import type { Box, Detection, DetectOptions, DetectPass, FaceBackend, RgbImage } from '../src/vision/types.js';

t.test('tiles cover the whole frame with overlap, each seen `zoom` times larger; none where nothing is small', async (t) => {
  const tiles = tileGrid(640, 360, 2);
  t.equal(tiles.length, 6, 'three across, two down for 640×360');
  for (const tile of tiles) t.equal(tile.width, 320);
  const uncovered: string[] = [];
  for (let x = 0; x < 640; x += 5)
    for (let y = 0; y < 360; y += 5) if (!tiles.some((k) => x >= k.x && x < k.x + k.width && y >= k.y && y < k.y + k.height)) uncovered.push(`${x},${y}`);
  t.same(uncovered, [], 'every pixel is in a tile');
  const across = tiles.filter((k) => k.y === 0).sort((a, b) => a.x - b.x);
  t.ok(across[0]!.x + across[0]!.width - across[1]!.x >= 80, 'neighbours overlap by a quarter of a tile');
  t.same(tileGrid(640, 360, 0), [], 'zoom 0: off');
  t.same(tileGrid(500, 300, 2), [], 'an image the detector sees at full size has no tiles');
  t.ok(
    tileGrid(1920, 1080, 2).every((k) => k.x + k.width <= 1920 && k.y + k.height <= 1080),
    'inside the frame',
  );
});

t.test('a crop copies the tile`s pixels', async (t) => {
  const image: RgbImage = { data: Uint8Array.from({ length: 8 * 4 * 3 }, (_, i) => i % 251), width: 8, height: 4 };
  const crop = cropImage(image, { x: 2, y: 1, width: 3, height: 2 });
  t.same(Array.from(crop.data.subarray(0, 3)), Array.from(image.data.subarray((1 * 8 + 2) * 3, (1 * 8 + 2) * 3 + 3)));
  t.same(Array.from(crop.data.subarray(9, 12)), Array.from(image.data.subarray((2 * 8 + 2) * 3, (2 * 8 + 2) * 3 + 3)));
});

/** A detector that sees faces only at a given size or larger, in whatever it is given, relative to 512. */
function fakeBackend(faces: Box[], image: RgbImage): FaceBackend & { calls: number } {
  const backend = {
    name: 'fake',
    calls: 0,
    async start() {},
    async stop() {},
    async detect(input: RgbImage, _options: DetectOptions): Promise<Detection[]> {
      backend.calls++;
      return facesIn(faces, input, locate(input, image), 512 / Math.max(input.width, input.height));
    },
    async landmarks() {
      return [];
    },
    async embed() {
      return [];
    },
  };
  return backend;
}

/** The faces wholly inside a crop starting at `origin`, in its pixels, that the detector sees 40 px high or more at `scale`. */
function facesIn(faces: Box[], input: RgbImage, origin: { x: number; y: number }, scale: number): Detection[] {
  return faces
    .filter((f) => f.x >= origin.x && f.y >= origin.y && f.x + f.width <= origin.x + input.width && f.y + f.height <= origin.y + input.height)
    .filter((f) => f.height * scale >= 40)
    .map((f) => ({ box: { x: f.x - origin.x, y: f.y - origin.y, width: f.width, height: f.height }, score: 0.9 }));
}

/** Where a crop of the test image starts: its first pixel holds its own coordinates. */
function locate(input: RgbImage, _image: RgbImage): { x: number; y: number } {
  const [r, g, b] = [input.data[0]!, input.data[1]!, input.data[2]!];
  return { x: r + ((b >> 4) << 8), y: g + ((b & 15) << 8) };
}

/** Each pixel's colour is its coordinates, so a crop says where it came from. */
function coordinateImage(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = x & 255;
      data[o + 1] = y & 255;
      data[o + 2] = ((x >> 8) << 4) | (y >> 8);
    }
  }
  return { data, width, height };
}

t.test('small faces come from the tiles, large ones from the whole frame, each once', async (t) => {
  const image = coordinateImage(640, 360);
  const small = { x: 100, y: 100, width: 30, height: 32 };
  const large = { x: 400, y: 100, width: 90, height: 100 };
  const backend = fakeBackend([small, large], image);
  const whole = await backend.detect(image, { minScore: 0.5, maxFaces: 20 });
  t.same(
    whole.map((d) => d.box),
    [large],
    'the whole frame alone misses the 32 px face',
  );
  const found = await detectWithTiles(backend, image, { minScore: 0.5, maxFaces: 20 }, 2);
  t.same(
    found.map((d) => d.box).sort((a, b) => a.x - b.x),
    [small, large],
    'with the tiles both, the large one once',
  );
});

/** A detector of any input size: it sees the faces whose height at `scale` is at least 40 px. */
function scaledBackend(faces: Box[]): FaceBackend & { scales: number[]; passes: DetectPass[] } {
  const backend = {
    name: 'fake-scaled',
    scales: [] as number[],
    /** What each pass was called as (vision.quantize runs some of them int8). */
    passes: [] as DetectPass[],
    async start() {},
    async stop() {},
    async detect(): Promise<Detection[]> {
      throw new Error('a video frame is seen at its own aspect');
    },
    detectScaled: async (input: RgbImage, scale: number, _options: DetectOptions, pass: DetectPass): Promise<Detection[]> => {
      backend.scales.push(scale);
      backend.passes.push(pass);
      return facesIn(faces, input, locate(input, input), scale);
    },
    async landmarks() {
      return [];
    },
    async embed() {
      return [];
    },
  };
  return backend;
}

t.test('a backend of any input size: the whole frame at 512 on its long side, then zoom times larger in strips', async (t) => {
  const image = coordinateImage(640, 360);
  const small = { x: 100, y: 100, width: 30, height: 32 };
  const large = { x: 400, y: 100, width: 90, height: 100 };
  const huge = { x: 200, y: 0, width: 200, height: 200 };
  const backend = scaledBackend([small, large, huge]);
  const whole = await detectFrame(backend, image, { minScore: 0.5, maxFaces: 20, tileZoom: 0 });
  t.same(backend.scales, [0.8], 'one pass, 640×360 seen as 512×288');
  t.same(
    whole.map((d) => d.box.x).sort((a, b) => a - b),
    [200, 400],
    'the whole frame alone misses the 32 px face',
  );
  backend.scales.length = 0;
  const found = await detectFrame(backend, image, { minScore: 0.5, maxFaces: 20, tileZoom: 2 });
  t.same(backend.scales, [0.8, 1.6, 1.6, 1.6], 'the second look at 1.6 (as the 320 px tiles at 512 showed), in three strips of 427×576');
  t.same(
    backend.passes,
    ['photo', 'photo', 'second-look', 'second-look', 'second-look'],
    'the strips are passed as the second look, the whole image (both times) as a photo',
  );
  backend.passes.length = 0;
  await detectFrame(backend, image, { minScore: 0.5, maxFaces: 20, tileZoom: 2, video: true });
  t.same(backend.passes, ['frame', 'second-look', 'second-look', 'second-look'], "a video frame's whole pass is a frame's, its strips the second look's");
  t.same(stripGrid(640, 360, 1.6, 80), [
    { x: 0, y: 0, width: 267, height: 360 },
    { x: 187, y: 0, width: 267, height: 360 },
    { x: 373, y: 0, width: 267, height: 360 },
  ]);
  t.ok(
    stripGrid(854, 480, 1.2, 107).every((s) => Math.round(s.width * 1.2) * Math.round(s.height * 1.2) <= 512 * 512),
    'no pass shows the detector more pixels than its 512×512 square',
  );
  t.same(stripGrid(640, 360, 0.8, 80), [{ x: 0, y: 0, width: 640, height: 360 }], 'one pass where it fits');
  t.same(
    found.map((d) => d.box).sort((a, b) => a.x - b.x),
    [small, huge, large],
    'every face once; the 200 px one (over 0.45 of a tile) from the whole frame only',
  );
  backend.scales.length = 0;
  await detectFrame(backend, coordinateImage(480, 270), { minScore: 0.5, maxFaces: 20, tileZoom: 2 });
  t.equal(backend.scales.length, 1, 'no second look where the detector already sees the frame at full size');
  backend.scales.length = 0;
  const smaller = await detectFrame(backend, image, { minScore: 0.5, maxFaces: 20, tileZoom: 2, side: 384 });
  t.same(backend.scales, [0.6, 1.2, 1.2], 'vision.detectorSide 384: the whole frame at 384×216 and the strips at 1.2, two of 432×432');
  t.same(
    smaller.map((d) => d.box).sort((a, b) => a.x - b.x),
    [huge, large],
    'and the 32 px face, seen 38 px high even in the strips, is lost: the price of the smaller side',
  );
});

t.test('one pass of the second look at a time (a live camera`s frames): the whole frame and that strip, and together all the faces', async (t) => {
  const image = coordinateImage(640, 360);
  // One small face in the first strip, one in the last; the strips of 640×360 are x 0–267, 187–454, 373–640.
  const left = { x: 40, y: 100, width: 30, height: 32 };
  const right = { x: 560, y: 200, width: 30, height: 32 };
  const large = { x: 300, y: 100, width: 90, height: 100 };
  const backend = scaledBackend([left, right, large]);
  const options = { minScore: 0.5, maxFaces: 20, tileZoom: 2 };
  t.equal(secondLookPasses(640, 360, options, true), 3, 'three strips');
  t.equal(secondLookPasses(640, 360, options, false), tileGrid(640, 360, 2).length, 'or the tiles, on a backend of one input size');
  t.equal(secondLookPasses(480, 270, options, true), 0, 'none where the detector sees the frame at full size');
  const seen: Box[][] = [];
  for (const part of [0, 1, 2]) {
    backend.scales.length = 0;
    seen.push((await detectFrame(backend, image, { ...options, part })).map((d) => d.box).sort((a, b) => a.x - b.x));
    t.same(backend.scales, [0.8, 1.6], `part ${part}: the whole frame and one strip`);
  }
  t.same(seen, [[left, large], [large], [large, right]], 'each small face from its own strip, the large one from every whole pass');
  backend.scales.length = 0;
  await detectFrame(backend, image, { ...options, part: 4 });
  t.same(backend.scales, [0.8, 1.6], 'a part past the last wraps round');
});

t.test('a look taken whole on a backend whose passes keep no arena: as few passes as wholeLookPixels allows; a camera`s parts stay strips', async (t) => {
  const image = coordinateImage(640, 360);
  const left = { x: 40, y: 100, width: 30, height: 32 };
  const seam = { x: 250, y: 200, width: 30, height: 32 };
  const right = { x: 560, y: 200, width: 30, height: 32 };
  const large = { x: 300, y: 100, width: 90, height: 100 };
  const backend = Object.assign(scaledBackend([left, seam, right, large]), { wholeLookPixels: 1024 * 1024 });
  const options = { minScore: 0.5, maxFaces: 20, tileZoom: 2 };
  const found = await detectFrame(backend, image, options);
  t.same(backend.scales, [0.8, 1.6], 'the whole frame, then all of it at 1.6 in one pass of 1024×576');
  t.same(backend.passes, ['photo', 'second-look'], 'that pass is the second look');
  t.same(
    found.map((d) => d.box).sort((a, b) => a.x - b.x),
    [left, seam, large, right],
    'the small faces, one on what would be a strip`s seam, and the large one once',
  );
  backend.scales.length = 0;
  const strips = await detectFrame(scaledBackend([left, seam, right, large]), image, options);
  t.same(
    strips.map((d) => d.box).sort((a, b) => a.x - b.x),
    found.map((d) => d.box).sort((a, b) => a.x - b.x),
    'the same faces as the three strips find',
  );
  await detectFrame(backend, image, { ...options, part: 1 });
  t.same(backend.scales, [0.8, 1.6], 'a part: the whole frame and one strip');
  t.equal(secondLookPasses(640, 360, { ...options, part: 1 }, true), 3, '…of three, as before');
  const bounded = Object.assign(scaledBackend([]), { wholeLookPixels: 512 * 512 });
  await detectFrame(bounded, image, options);
  t.same(bounded.scales, [0.8, 1.6, 1.6, 1.6], 'a bound no larger than 512×512: the three strips');
  t.same(stripGrid(1280, 720, 0.8, 160, 1024 * 1024).length, 1, 'a 720p frame at tileZoom 2 (1024×576) is one pass under 1024×1024');
  t.same(stripGrid(1920, 1080, 1.6, 240, 1024 * 1024).length, 6, 'a larger zoom still splits into passes under the bound');
});

t.test('a letterboxed video frame: the whole pass sees all of it, the second look only the picture between the bars', async (t) => {
  const image = { data: new Uint8Array(854 * 480 * 3), width: 854, height: 480 };
  image.data.fill(128, 62 * 854 * 3, 418 * 854 * 3);
  const inputs: [number, number, number, DetectPass][] = [];
  const backend: FaceBackend = {
    name: 'fake-letterbox',
    wholeLookPixels: 1024 * 1024,
    async start() {},
    async stop() {},
    async detect(): Promise<Detection[]> {
      throw new Error('unused');
    },
    detectScaled: async (input: RgbImage, scale: number, _options: DetectOptions, pass: DetectPass): Promise<Detection[]> => {
      inputs.push([input.width, input.height, Math.round(scale * 100) / 100, pass]);
      return pass === 'second-look' ? [{ box: { x: 100, y: 50, width: 30, height: 32 }, score: 0.9 }] : [];
    },
    async landmarks() {
      return [];
    },
    async embed() {
      return [];
    },
  };
  const options = { minScore: 0.5, maxFaces: 20, tileZoom: 2 };
  const found = await detectFrame(backend, image, { ...options, video: true });
  t.same(
    inputs,
    [
      [854, 480, 0.6, 'frame'],
      [854, 360, 1.2, 'second-look'],
    ],
    'the frame at 512 on its long side, then its picture (rows 60–420) at the second look`s scale, in one pass',
  );
  t.same(
    found.map((d) => d.box),
    [{ x: 100, y: 110, width: 30, height: 32 }],
    "the look's face placed back in the frame",
  );
  t.equal(secondLookPasses(854, 480, options, true), 3, 'the whole frame in strips: three');
  t.equal(secondLookPasses(854, 480, options, true, { width: 854, height: 360 }), 2, 'its picture: two, which a camera then sweeps');
  inputs.length = 0;
  await detectFrame(backend, image, options);
  t.same(inputs[1]?.slice(0, 2), [854, 480], 'a photo is looked at whole, bars or not');
});

t.test('a pipeline takes new detection settings while running (a live update of vision.*): the next image uses them', async (t) => {
  const backend = scaledBackend([]);
  const pipeline = new FacePipeline(backend, { minScore: 0.5, maxFaces: 20, tileZoom: 0 });
  await pipeline.analyze(coordinateImage(640, 360));
  pipeline.setDetectOptions({ minScore: 0.5, maxFaces: 20, tileZoom: 0, side: 384 });
  await pipeline.analyze(coordinateImage(640, 360));
  t.same(backend.scales, [0.8, 0.6], 'the first at 512×288, the next at 384×216');
});

t.test("a video frame's whole pass is a frame's, any other image's a photo's (vision.quantize runs them apart)", async (t) => {
  const backend = scaledBackend([]);
  const options = { minScore: 0.5, maxFaces: 20, tileZoom: 0 };
  const pipeline = new FacePipeline(backend, options);
  await pipeline.analyze(coordinateImage(640, 360));
  await pipeline.analyze(coordinateImage(640, 360), { fallback: 'face-crop' });
  await pipeline.analyze(coordinateImage(640, 360), { video: true });
  t.same(
    backend.passes,
    ['photo', 'photo', 'photo', 'frame'],
    'photos (a request; a dataset photo and, finding nothing, its retry with a border) and a frame told apart',
  );
  backend.passes.length = 0;
  // A camera's and scan's frames go through the frame analyzer.
  await new FrameAnalyzer(backend, options, { current: () => null }, embedderSpec('face-api-68')).analyze(coordinateImage(640, 360));
  t.same(backend.passes, ['frame'], "the frame analyzer's frames are video frames");
});
