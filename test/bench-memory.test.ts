// bench --memory's readings: the daemon's settings as deployed, and stage times from its Prometheus text.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { meansBetween, parseHistogramSums, unitEnvironment } from '../src/cli/bench-memory.js';

t.test('the daemon runs with the malloc and V8 settings of its systemd unit', async (t) => {
  const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');
  const env = unitEnvironment(main);
  t.equal(env['MALLOC_ARENA_MAX'], '2');
  t.match(env['NODE_OPTIONS'], /--max-semi-space-size=\d+/);
  t.notOk('NODE_ENV' in env, 'only what changes memory is taken');
});

t.test('mean ms per call between two readings; cameras added up', async (t) => {
  const reading = (detect: [number, number], f0: [number, number], f1: [number, number]) =>
    [
      '# HELP actor_recognizer_stage_seconds Time per pipeline stage per call',
      `actor_recognizer_stage_seconds_bucket{le="0.05",stage="detect"} 3`,
      `actor_recognizer_stage_seconds_sum{stage="detect"} ${detect[0]}`,
      `actor_recognizer_stage_seconds_count{stage="detect"} ${detect[1]}`,
      `actor_recognizer_frame_to_result_seconds_sum{camera="a"} ${f0[0]}`,
      `actor_recognizer_frame_to_result_seconds_count{camera="a"} ${f0[1]}`,
      `actor_recognizer_frame_to_result_seconds_sum{camera="b"} ${f1[0]}`,
      `actor_recognizer_frame_to_result_seconds_count{camera="b"} ${f1[1]}`,
    ].join('\n');
  const before = parseHistogramSums(reading([1, 10], [1, 10], [2, 10]));
  t.same(before.get('stage:detect'), { sum: 1, count: 10 });
  t.same(before.get('frame'), { sum: 3, count: 20 });
  const after = parseHistogramSums(reading([4, 110], [6, 60], [7, 60]));
  const { stageMs, frameToResultMs } = meansBetween(before, after);
  t.equal(stageMs.detect, 30, '3 s over 100 calls');
  t.notOk('embed' in stageMs, 'a stage that did not run has no mean');
  t.equal(frameToResultMs, 100, '10 s over 100 frames of both cameras');
  t.equal(meansBetween(after, after).frameToResultMs, null, 'no frames, no mean');
});
