// The dataset face cache's key (src/cli/common.ts): a setting that changes the faces found must change it.
import t from 'tap';
import { faceCacheKey } from '../src/cli/common.js';
import { loadConfig } from '../src/config/load.js';

t.test('every detection setting that moves the faces found changes the face cache key', async (t) => {
  const vision = loadConfig({ env: {} }).vision;
  const base = faceCacheKey('onnx-mobilefacenet-r9', vision);
  t.equal(faceCacheKey('onnx-mobilefacenet-r9', { ...vision }), base, 'the same settings, the same key');
  const changed = {
    detectorSide: 384,
    tileZoom: 2.5,
    maxFaces: 5,
    minScore: 0.6,
    detector: 'tiny' as const,
  };
  for (const [setting, value] of Object.entries(changed)) {
    t.not(faceCacheKey('onnx-mobilefacenet-r9', { ...vision, [setting]: value }), base, `vision.${setting} ${value}`);
  }
  t.not(faceCacheKey('onnx-int8-second-look-mobilefacenet-r9', vision), base, 'another pipeline revision');
  // The pipeline's revision names the compiled graphs (FacePipeline.revision, OnnxFaceBackend.graphs).
  const int8 = faceCacheKey('onnx-int8-photos-second-look-ssd-int8-r2-bbce69a5-mobilefacenet-r9', vision);
  t.not(faceCacheKey('onnx-int8-photos-second-look-ssd-int8-r1-bbce69a5-mobilefacenet-r9', vision), int8, "another int8 graph: its pass's revision");
  t.not(faceCacheKey('onnx-int8-photos-second-look-ssd-int8-r2-0123abcd-mobilefacenet-r9', vision), int8, 'another int8 graph: its ranges');
});
