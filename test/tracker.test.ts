// The tracker on made-up faces: linking, voting with hysteresis, appearance events and their end.
import t from 'tap';
import { Tracker, type TrackInput } from '../src/track/tracker.js';

const vec = (seed: number) => Float32Array.from({ length: 128 }, (_, i) => Math.sin(seed * 7.3 + i * 1.7));
const face = (x: number, seed: number, actor: string | null, confidence = 0.95): TrackInput => ({ box: { x, y: 50, width: 100, height: 120 }, embedding: vec(seed), actor, confidence });

t.test('one person over many frames is one appearance, named once', async (t) => {
  const tracker = new Tracker({ minHits: 2, absentSeconds: 1 });
  const events = [];
  for (let i = 0; i < 10; i++) events.push(...tracker.update([face(100 + i * 3, 1, i === 4 ? 'Madonna' : 'Ben Affleck')], i * 0.2));
  t.same(events.map((e) => e.type), ['appeared', 'identified'], 'one flicker to another name does not rename the track');
  t.equal(events[1]!.actor, 'Ben Affleck');
  t.same(tracker.actors(), ['Ben Affleck']);
  const left = tracker.update([], 3);
  t.equal(left.length, 1);
  t.equal(left[0]!.type, 'left');
  t.equal(left[0]!.durationSeconds, 1.8);
  t.equal(left[0]!.bestConfidence, 0.95);
  t.same(tracker.actors(), []);
});

t.test('a single false detection is never announced; two people are two tracks', async (t) => {
  const tracker = new Tracker({ minHits: 2, absentSeconds: 1 });
  t.same(tracker.update([face(500, 9, null)], 0), []);
  const events = [...tracker.update([face(100, 1, 'Madonna'), face(400, 2, null)], 2), ...tracker.update([face(102, 1, 'Madonna'), face(398, 2, null)], 2.2)];
  t.same(events.filter((e) => e.type === 'appeared').length, 2);
  t.same(tracker.active().map((a) => a.actor).sort(), ['Madonna', null]);
});

t.test('a name needs a sustained majority to replace another, and frames under minConfidence vote unknown', async (t) => {
  const tracker = new Tracker({ minHits: 1, absentSeconds: 5, minConfidence: 0.9 });
  for (let i = 0; i < 3; i++) tracker.update([face(100, 1, 'Madonna')], i);
  const renamed = [];
  for (let i = 3; i < 12; i++) renamed.push(...tracker.update([face(100, 1, 'Elton John')], i));
  t.same(renamed.map((e) => [e.type, e.actor]), [['identified', 'Elton John']], 'renamed once, after several frames');
  const weak = new Tracker({ minHits: 1, absentSeconds: 5, minConfidence: 0.96 });
  for (let i = 0; i < 5; i++) weak.update([face(100, 1, 'Madonna', 0.94)], i);
  t.same(weak.actors(), [], 'named only under the bar: stays unknown');
});
