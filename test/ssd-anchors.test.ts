// SSD's anchors for any input size: the generator reproduces face-api's stored anchors, and keeps pixel sizes elsewhere.
import t from 'tap';
import { faceApiModelDir } from '../src/vision/face-api.js';
import { anchorCentersAndSizes, ssdAnchors, ssdGrid, SSD_STRIDES } from '../src/vision/onnx/ssd-anchors.js';
import { loadWeights } from '../src/vision/onnx/weights.js';

t.test('at 512×512 the generator gives the 5118 stored anchors, bit for bit', async (t) => {
  const weights = await loadWeights(faceApiModelDir(), 'ssd_mobilenetv1_model');
  const stored = weights.get('Output/extra_dim', 3);
  t.same(stored.shape, [1, 5118, 4]);
  const made = ssdAnchors(512, 512);
  t.equal(made.length, stored.data.length, '5118 anchors of 4 numbers');
  let differing = 0;
  let worst = 0;
  for (let i = 0; i < made.length; i++) {
    if (made[i] !== stored.data[i]) differing++;
    worst = Math.max(worst, Math.abs(made[i]! - stored.data[i]!));
  }
  t.equal(differing, 0, `every number equal (largest difference ${worst})`);
  t.same(
    ssdGrid(512, 512).map((g) => g.h),
    [32, 16, 8, 4, 2, 1],
    'the six feature maps of the 512 square',
  );
});

t.test('another size: grids from the stride-2 layers, and anchors of the same size in pixels', async (t) => {
  t.same(ssdGrid(288, 512), [
    { h: 18, w: 32 },
    { h: 9, w: 16 },
    { h: 5, w: 8 },
    { h: 3, w: 4 },
    { h: 2, w: 2 },
    { h: 1, w: 1 },
  ]);
  const square = ssdAnchors(512, 512);
  const frame = ssdAnchors(288, 512);
  const perCell = [3, 6, 6, 6, 6, 6];
  t.equal(
    frame.length / 4,
    ssdGrid(288, 512).reduce((s, g, l) => s + g.h * g.w * perCell[l]!, 0),
    '2934 anchors for 512×288',
  );
  // Layer 1 (conv 13, stride 32), first cell: same pixel size and centre in both.
  const first = (a: Float32Array, h: number, w: number, index: number) => {
    const [y0, x0, y1, x1] = [0, 1, 2, 3].map((k) => a[index * 4 + k]!) as [number, number, number, number];
    return { h: (y1 - y0) * h, w: (x1 - x0) * w, cy: ((y0 + y1) / 2) * h, cx: ((x0 + x1) / 2) * w };
  };
  const layer1Square = 32 * 32 * 3;
  const layer1Frame = 18 * 32 * 3;
  for (let box = 0; box < 6; box++) {
    const a = first(square, 512, 512, layer1Square + box);
    const b = first(frame, 288, 512, layer1Frame + box);
    t.ok(Math.abs(a.h - b.h) < 1e-3 && Math.abs(a.w - b.w) < 1e-3, `box ${box}: ${b.h.toFixed(2)}×${b.w.toFixed(2)} px as at 512`);
    t.ok(Math.abs(b.cy - SSD_STRIDES[1] / 2) < 1e-3 && Math.abs(b.cx - SSD_STRIDES[1] / 2) < 1e-3, 'centred on the first cell');
  }
  // The last cell of the 5-row map (stride 64) is centred 4.5 strides down.
  const layer2Frame = layer1Frame + 9 * 16 * 6;
  const last = first(frame, 288, 512, layer2Frame + (4 * 8 + 7) * 6);
  t.ok(Math.abs(last.cy - 4.5 * 64) < 1e-3 && Math.abs(last.cx - 7.5 * 64) < 1e-3, `last cell at (${last.cy}, ${last.cx}) px`);
  const { center, size } = anchorCentersAndSizes(frame);
  t.equal(center.length, size.length);
  t.ok(Math.abs(size[0]! * 288 - 51.2) < 1e-3, 'the smallest anchor is 0.1 of 512 px high');
});
