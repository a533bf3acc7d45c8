// The tracker on made-up faces: linking within a shot, naming from aggregated evidence, cuts and events.
import t from 'tap';
import { Tracker, type TrackInput, type TrackModel } from '../src/track/tracker.js';

const ACTORS = ['Ben Affleck', 'Madonna', 'Elton John'];
const model: TrackModel = { version: 'v1', actors: ACTORS, score: 'cosine', thresholds: [0.9, 0.9, 0.9] };
/** No confidence floor and no re-identification across shots, unless a test turns them on. */
const OFF = { minConfidence: 0, reidSeconds: 0 };

/**
 * A unit vector with cosine `c` to class `k`'s axis (the class means are the axes 0, 1, 2), the rest
 * along an axis of its own (3 + seed mod 13): faces of one person that differ from each other.
 */
function unitNear(k: number, seed: number, c: number): Float32Array {
  const v = new Float32Array(16);
  v[k] = c;
  v[3 + (seed % 13)] = Math.sqrt(1 - c * c);
  return v;
}

/** A face whose scores are its cosines with the class means. */
function face(x: number, k: number, seed: number, c = 0.97, quality = 1): TrackInput {
  const embedding = unitNear(k, seed, c);
  const scores = Float32Array.from(ACTORS, (_, a) => embedding[a]!);
  const best = scores.indexOf(Math.max(...scores));
  return {
    box: { x, y: 50, width: 100, height: 120 },
    embedding,
    scores,
    actor: scores[best]! >= 0.9 ? ACTORS[best]! : null,
    confidence: scores[best]!,
    quality,
  };
}

t.test('one person over many frames is one appearance; a face known at its announcement is one event', async (t) => {
  const tracker = new Tracker({ ...OFF, minHits: 2, absentSeconds: 1 });
  const events = [];
  for (let i = 0; i < 10; i++) events.push(...tracker.update([face(100 + i * 3, 0, i)], i * 0.2, { model }));
  t.same(
    events.map((e) => [e.type, e.actor]),
    [['appeared', 'Ben Affleck']],
    'appeared with the name, no separate identified',
  );
  t.same(tracker.actors(), ['Ben Affleck']);
  const left = tracker.update([], 3, { model });
  t.same(
    left.map((e) => e.type),
    ['left'],
  );
  t.equal(left[0]!.durationSeconds, 1.8);
  t.ok(left[0]!.bestConfidence! > 0.9);
});

t.test('small faces that each fall short add up to a name; a stranger near every actor does not', async (t) => {
  // Each face alone scores 0.89 for its actor, under the 0.9 threshold, but their differences cancel out.
  const weak = Array.from({ length: 12 }, (_, i) => face(100, 1, i + 1, 0.89));
  t.ok(
    weak.every((f) => f.actor === null),
    'no single frame is named',
  );
  const tracker = new Tracker({ ...OFF, minHits: 2, absentSeconds: 1 });
  const events = weak.flatMap((f, i) => tracker.update([f], i * 0.2, { model }));
  t.same(
    events.map((e) => [e.type, e.actor]),
    [
      ['appeared', null],
      ['identified', 'Madonna'],
    ],
    'named late, as evidence grew',
  );
  t.equal(events[1]!.previous, null, 'identified says what the track was called before');

  // A stranger halfway between every actor, the same blur each time: never named, however long.
  const stranger = Float32Array.from({ length: 16 }, (_, i) => (i < 3 ? 0.5 : 0.1));
  const n = Math.hypot(...stranger);
  const unit = stranger.map((x) => x / n);
  const tracker2 = new Tracker({ ...OFF, minHits: 2, absentSeconds: 1 });
  const strangerFace = (i: number): TrackInput => ({
    box: { x: 300, y: 50, width: 30, height: 36 },
    embedding: unit,
    scores: Float32Array.from(ACTORS, (_, c) => unit[c]!),
    actor: null,
    confidence: unit[0]!,
    quality: 0.3 + (i % 2) * 0.1,
  });
  const strangerEvents = Array.from({ length: 30 }, (_, i) => tracker2.update([strangerFace(i)], i * 0.2, { model })).flat();
  t.same(
    strangerEvents.filter((e) => e.actor !== null),
    [],
    'a stranger close to everyone stays unknown',
  );
});

t.test('one lucky frame of a stranger does not name the track', async (t) => {
  const tracker = new Tracker({ ...OFF, minHits: 2, absentSeconds: 1 });
  // Frames of someone scoring 0.8 for Elton John, and one frame at 0.93.
  const frames = Array.from({ length: 8 }, (_, i) => face(100, 2, i, i === 3 ? 0.93 : 0.8));
  t.equal(frames[3]!.actor, 'Elton John', 'the lucky frame alone would be named');
  const events = frames.flatMap((f, i) => tracker.update([f], i * 0.2, { model }));
  t.same(
    events.filter((e) => e.actor !== null),
    [],
    'the track stays unknown',
  );
});

t.test('a cut ends every track: the same place after a cut is someone new', async (t) => {
  const tracker = new Tracker({ ...OFF, minHits: 2, absentSeconds: 5 });
  const before = [0, 0.2, 0.4].flatMap((time) => tracker.update([face(100, 0, 1)], time, { model }));
  t.same(
    before.map((e) => [e.type, e.actor]),
    [['appeared', 'Ben Affleck']],
  );
  const after = [...tracker.update([face(100, 1, 2)], 0.6, { cut: true, model }), ...tracker.update([face(100, 1, 3)], 0.8, { model })];
  t.same(
    after.map((e) => [e.type, e.actor]),
    [
      ['left', 'Ben Affleck'],
      ['appeared', 'Madonna'],
    ],
    'not one track carrying a name across the cut',
  );
});

t.test('faces of two people do not swap tracks; a face elsewhere in the shot that looks the same rejoins its track', async (t) => {
  const tracker = new Tracker({ ...OFF, minHits: 1, absentSeconds: 5 });
  tracker.update([face(100, 0, 1), face(400, 1, 2)], 0, { model });
  const [ben, madonna] = tracker.active().sort((a, b) => a.box.x - b.box.x);
  // They cross: Ben is now where Madonna was and the other way round, a frame later.
  tracker.update([face(380, 0, 3), face(120, 1, 4)], 0.2, { model });
  const now = tracker.active();
  t.equal(now.find((v) => v.id === ben!.id)?.box.x, 380, 'Ben keeps his track by his face, not the position');
  t.equal(now.find((v) => v.id === madonna!.id)?.box.x, 120);
  // Ben leaves for a second and comes back at the other edge of the frame.
  tracker.update([face(120, 1, 5)], 0.4, { model });
  tracker.update([face(120, 1, 6), face(700, 0, 7)], 1.2, { model });
  t.equal(tracker.active().find((v) => v.box.x === 700)?.id, ben!.id, 'the same face far away rejoins its track within the shot');
});

t.test('a shot too short to see a face twice still counts the face seen in it', async (t) => {
  const tracker = new Tracker({ ...OFF, minHits: 2, absentSeconds: 5 });
  const events = [...tracker.update([face(100, 1, 1)], 0, { cut: true, model }), ...tracker.update([face(300, 0, 2)], 0.2, { cut: true, model })];
  t.same(
    events.map((e) => [e.type, e.actor]),
    [
      ['appeared', 'Madonna'],
      ['left', 'Madonna'],
    ],
    'the one-frame shot gives its appearance',
  );
  t.same(
    tracker.update([], 0.4, { cut: true, model }).map((e) => [e.type, e.actor]),
    [
      ['appeared', 'Ben Affleck'],
      ['left', 'Ben Affleck'],
    ],
  );
  const longer = new Tracker({ ...OFF, minHits: 2, absentSeconds: 5 });
  const noise = [...longer.update([face(100, 1, 1)], 0, { model }), ...longer.update([], 0.2, { model }), ...longer.update([], 0.4, { cut: true, model })];
  t.same(noise, [], 'in a longer shot a face seen once is a false detection, never announced');
});

t.test('a track changes its name only when another actor clearly leads, and minConfidence raises the bar', async (t) => {
  // One person's faces turning in the plane of Madonna's and Elton John's means (angle from Madonna's).
  const turned = (angle: number): TrackInput => {
    const e = new Float32Array(16);
    e[1] = Math.cos(angle);
    e[2] = Math.sin(angle);
    const scores = Float32Array.from(ACTORS, (_, a) => e[a]!);
    return { box: { x: 100, y: 50, width: 100, height: 120 }, embedding: e, scores, actor: null, confidence: Math.max(...scores), quality: 1 };
  };
  const tracker = new Tracker({ ...OFF, minHits: 1, absentSeconds: 5 });
  const events = [];
  for (let i = 0; i < 5; i++) events.push(...tracker.update([turned(0.2)], i * 0.2, { model }));
  events.push(...tracker.update([turned(0.9)], 1, { model }));
  t.same(
    events.map((e) => [e.type, e.actor]),
    [['appeared', 'Madonna']],
    'one frame nearer Elton John does not rename five of Madonna',
  );
  for (let i = 6; i < 40; i++) events.push(...tracker.update([turned(Math.min(1.37, 0.9 + (i - 5) * 0.05))], i * 0.2, { model }));
  t.same(
    events.map((e) => [e.type, e.actor]),
    [
      ['appeared', 'Madonna'],
      ['identified', null],
      ['identified', 'Elton John'],
    ],
    'the name is dropped, then another taken, as the evidence turns',
  );
  t.equal(tracker.active().length, 1, 'one track throughout');
  const strict = new Tracker({ ...OFF, minHits: 1, absentSeconds: 5, minConfidence: 0.999 });
  for (let i = 0; i < 5; i++) strict.update([face(100, 1, i)], i * 0.2, { model });
  t.same(strict.actors(), [], 'under minConfidence: stays unknown');
});

t.test('without a model every track is unknown', async (t) => {
  const tracker = new Tracker({ ...OFF, minHits: 1, absentSeconds: 5 });
  const events = tracker.update([face(100, 0, 1)], 0);
  t.same(
    events.map((e) => [e.type, e.actor]),
    [['appeared', null]],
  );
});

t.test('a face named in an earlier shot is named again in a later one on a weaker match, only within reidSeconds', async (t) => {
  // Madonna clearly in the first shot; in the next her faces score 0.88, under the 0.9 threshold, but look
  // like hers of the first shot (the same seed: the same face). A stranger whose best is Madonna at 0.88
  // with another look stays unknown.
  const run = (reidSeconds: number, seed: number) => {
    const tracker = new Tracker({ ...OFF, minHits: 2, absentSeconds: 5, reidSeconds });
    const first = [0, 0.2, 0.4].flatMap((time) => tracker.update([face(100, 1, 5, 0.95)], time, { model }));
    t.same(
      first.map((e) => [e.type, e.actor]),
      [['appeared', 'Madonna']],
    );
    const later = [0.6, 0.8, 1.0].flatMap((time, i) => tracker.update([face(300, 1, seed, 0.88)], time, { cut: i === 0, model }));
    return later.filter((e) => e.type !== 'left').map((e) => [e.type, e.actor]);
  };
  t.same(run(60, 5), [['appeared', 'Madonna']], 'the same face a shot later is named');
  t.same(run(0, 5), [['appeared', null]], 'reidSeconds 0: on its own evidence only');
  t.same(run(60, 9), [['appeared', null]], 'another face near Madonna is not named after her');
});

/** A face turned away: an embedding along an axis of its own, like no actor and no earlier face. */
function turned(x: number, seed: number, quality = 0.05): TrackInput {
  const embedding = new Float32Array(16);
  embedding[3 + (seed % 13)] = 1;
  return { box: { x, y: 50, width: 100, height: 120 }, embedding, scores: new Float32Array(3), actor: null, confidence: 0, quality };
}

t.test('a face that turns away keeps its track and its name where it stood; a face named as someone else there, or two faces, start their own', async (t) => {
  const start = () => {
    const tracker = new Tracker({ ...OFF, minHits: 2, absentSeconds: 1 });
    const events = [0, 0.2, 0.4].flatMap((time, i) => tracker.update([face(100, 0, i + 1)], time, { model }));
    t.same(
      events.map((e) => [e.type, e.actor]),
      [['appeared', 'Ben Affleck']],
    );
    return tracker;
  };
  // Cosine 0 to his last face, 40 px further on: no embedding link would take it.
  const tracker = start();
  const events = [0.6, 0.8, 1.0, 1.2].flatMap((time, i) => tracker.update([turned(140 + i * 5, 7 + i)], time, { model }));
  t.same(events, [], 'no new track, no change of name');
  t.same(tracker.actors(), ['Ben Affleck'], 'still on screen, named');

  const swapped = start();
  const other = [0.6, 0.8].flatMap((time, i) => swapped.update([face(140, 1, 9 + i)], time, { model }));
  t.same(
    other.map((e) => [e.type, e.actor]),
    [['appeared', 'Madonna']],
    'Madonna in his place is Madonna',
  );

  const crowded = start();
  const two = [0.6, 0.8].flatMap((time) => crowded.update([turned(140, 7), turned(60, 8)], time, { model }));
  t.same(
    two.map((e) => [e.type, e.actor]),
    [
      ['appeared', null],
      ['appeared', null],
    ],
    'two turned faces near him: neither is taken for his',
  );
});

t.test('a shot that takes an earlier one up again names a face where that shot left it, from its evidence', async (t) => {
  // Madonna clearly in shot 1; a cutaway to Elton John; back to shot 1's set-up, where a face scores 0.85
  // for her (under the 0.9 threshold) and looks like her last face there (cosine 0.98).
  const run = (resumes: number | undefined, x: number) => {
    const tracker = new Tracker({ ...OFF, minHits: 2, absentSeconds: 2 });
    [0, 0.2, 0.4].forEach((time) => tracker.update([face(100, 1, 5, 0.97)], time, { model, shot: 1 }));
    [0.6, 0.8, 1.0].forEach((time, i) => tracker.update([face(300, 2, 3)], time, { model, cut: i === 0, shot: 2 }));
    const back = [1.2, 1.4, 1.6].flatMap((time, i) =>
      tracker.update([face(x, 1, 5, 0.85)], time, { model, cut: i === 0, shot: 3, ...(i === 0 && resumes !== undefined ? { resumes } : {}) }),
    );
    return back.filter((e) => e.type !== 'left').map((e) => [e.type, e.actor]);
  };
  t.same(run(1, 120), [['appeared', 'Madonna']], 'where she was: named from shot 1');
  t.same(run(undefined, 120), [['appeared', null]], 'a shot the detector did not match: on its own evidence');
  t.same(run(2, 120), [['appeared', null]], 'taking up another shot (Elton John was elsewhere)');
  t.same(run(1, 400), [['appeared', null]], 'far from where she was');
});

t.test('a face too small to embed cleanly takes its earlier shot up again by the mean of its faces there', async (t) => {
  // Shot 1: six faces of Madonna, each 0.9 to her mean and so 0.81 to one another; after the
  // cutaway, one face of her at 0.85, whose cosine to her last face (0.77) misses link.near (0.8)
  // while its cosine to the mean of her faces (0.83) reaches it. Ben Affleck in her place links to neither.
  const link = { overlapping: 0.7, near: 0.8, anywhere: 0.95, reid: 0.95 };
  const run = (back: TrackInput) => {
    const tracker = new Tracker({ ...OFF, minHits: 2, absentSeconds: 2, link });
    [0, 0.2, 0.4, 0.6, 0.8, 1.0].forEach((time, i) => tracker.update([face(100, 1, i + 1, 0.9)], time, { model, shot: 1 }));
    [1.2, 1.4].forEach((time, i) => tracker.update([face(300, 2, 3)], time, { model, cut: i === 0, shot: 2 }));
    const events = [...tracker.update([back], 1.6, { model, cut: true, shot: 3, resumes: 1 }), ...tracker.expire(1.8, true)];
    return events.filter((e) => e.type !== 'left').map((e) => [e.type, e.actor]);
  };
  t.same(run(face(110, 1, 9, 0.85)), [['appeared', 'Madonna']], 'named from shot 1 in a one-frame shot');
  t.same(run(face(110, 0, 9, 0.85)), [['appeared', null]], 'someone else in her place is not');
});

t.test('after a cutaway, a face too small to embed surely is taken up in its place when nothing else could be', async (t) => {
  const small = (f: TrackInput): TrackInput => ({ ...f, box: { ...f.box, width: 36, height: 48 } });
  // A small chip of Madonna that lands far from her faces (cosine 0.6, under link.near's 0.85), as
  // small chips do, and weighs little as evidence (quality 0.3).
  const junk = (x: number, seed: number): TrackInput => small(face(x, 1, seed, 0.6, 0.3));
  const run = (back: TrackInput[]) => {
    const tracker = new Tracker({ ...OFF, minHits: 2, absentSeconds: 2 });
    [0, 0.2, 0.4].forEach((time, i) => tracker.update([small(face(100, 1, i + 1))], time, { model, shot: 1 }));
    [0.6, 0.8].forEach((time, i) => tracker.update([face(300, 2, 3)], time, { model, cut: i === 0, shot: 2 }));
    const events = [...tracker.update(back, 1.0, { model, cut: true, shot: 3, resumes: 1 }), ...tracker.expire(1.2, true)];
    return events.filter((e) => e.type !== 'left').map((e) => [e.type, e.actor]);
  };
  t.same(run([junk(105, 9)]), [['appeared', 'Madonna']], 'in her place, alone: hers');
  t.same(
    run([junk(95, 9), junk(112, 10)]),
    [
      ['appeared', null],
      ['appeared', null],
    ],
    'two faces in her place: neither',
  );
  t.same(run([small(face(105, 0, 9))]), [['appeared', 'Ben Affleck']], 'a face named Ben Affleck on its own stays his');
  const larger = (f: TrackInput): TrackInput => ({ ...f, box: { ...f.box, width: 50, height: 66 } });
  t.same(
    run([junk(95, 9), larger(face(112, 1, 10, 0.6, 0.3))]),
    [
      ['appeared', null],
      ['appeared', null],
    ],
    'nor beside a 66 px face in the same place, large enough for its embedding to be believed',
  );
});

t.test('a followed face adds evidence to its own track and keeps it on screen, but is not a hit and never starts a track', async (t) => {
  // Faces of one person at 0.89 to their mean are 0.79 to each other: link.near under that, as the
  // embedders' own bars sit under their same-person cosines.
  const tracker = new Tracker({ ...OFF, minHits: 2, absentSeconds: 1, link: { overlapping: 0.7, near: 0.75, anywhere: 0.92, reid: 0.92 } });
  // Two detections of a face too weak to name alone (0.89 < 0.9) announce an unknown track.
  tracker.update([face(100, 1, 1, 0.89)], 0, { model });
  const appeared = tracker.update([face(100, 1, 2, 0.89)], 0.2, { model });
  t.same(
    appeared.map((e) => [e.type, e.actor]),
    [['appeared', null]],
  );
  const [followed] = tracker.followed(false);
  t.ok(followed, 'the track seen at the last detection is followed');
  t.same(tracker.followed(true), [], 'but not into a frame that starts a new shot');
  // Between detections its face is found only in its box: as weak, but the evidence adds up to a name.
  const events = [];
  for (let i = 0; i < 8; i++) events.push(...tracker.update([{ ...face(100, 1, 3 + i, 0.89), follows: followed!.id }], 0.4 + i * 0.4, { model }));
  t.same(
    events.map((e) => [e.type, e.actor]),
    [['identified', 'Madonna']],
    'named from detected and followed faces together',
  );
  t.same(
    tracker.active().map((v) => [v.id, v.hits, v.lastSeen]),
    [[followed!.id, 2, 3.2]],
    'one track, seen at the last followed frame, its hits the two detections',
  );
  // A followed face that is someone else (the face left its box) is dropped: no new track, and the
  // track, no longer seen, ends after absentSeconds.
  tracker.update([{ ...face(100, 2, 20), follows: followed!.id }], 3.6, { model });
  t.same(tracker.followed(false), [], 'not seen at the last frame: no longer followed');
  t.equal(tracker.active().length, 1, 'no track started from a followed face');
  t.same(
    tracker.update([], 4.4, { model }).map((e) => [e.type, e.actor]),
    [['left', 'Madonna']],
  );
});

t.test('a detected face goes before a followed one: the track takes the detection where the face moved', async (t) => {
  const tracker = new Tracker({ ...OFF, minHits: 2, absentSeconds: 1 });
  tracker.update([face(100, 0, 1)], 0, { model });
  tracker.update([face(100, 0, 2)], 0.2, { model });
  const [followed] = tracker.followed(false);
  // The face moved by more than its width (no overlap with its box); the followed look at the old
  // box still resembles it (a part of the face). The detection joins the track; the followed face is dropped.
  const moved = face(230, 0, 3);
  tracker.update([{ ...face(100, 0, 4), follows: followed!.id }, moved], 0.4, { model });
  const tracks = tracker.active();
  t.equal(tracks.length, 1, 'one track');
  t.same(tracks[0]!.box, moved.box, 'at the detected face');
  t.equal(tracks[0]!.hits, 3);
});

t.test('a settled track: its detections in place skip the embedding, move it and count as hits, and add no evidence', async (t) => {
  const tracker = new Tracker({ ...OFF, minHits: 2, absentSeconds: 1, embedSeconds: 1.2 });
  t.same(tracker.settled(0, false), [], 'no tracks, none settled');
  for (let i = 0; i < 2; i++) tracker.update([face(100, 0, i)], i * 0.4, { model });
  t.same(tracker.settled(0.8, false), [], 'two embedded faces are not yet enough');
  tracker.update([face(100, 0, 2)], 0.8, { model });
  const [settled] = tracker.settled(1.2, false);
  t.ok(settled, 'three embedded faces of a 120 px face: settled');
  t.same(tracker.settled(1.2, true), [], 'but not into a frame that starts a new shot');
  t.same(tracker.settled(2.0, false), [], 'nor once embedSeconds have passed since its last embedding');
  const before = tracker.active()[0]!;
  // Known faces carry no embedding and no scores: the name must stand on the track's evidence.
  const known = (x: number): TrackInput => ({
    box: { x, y: 50, width: 100, height: 120 },
    embedding: new Float32Array(0),
    actor: null,
    confidence: 0,
    quality: 0,
    known: settled!.id,
  });
  const events = [...tracker.update([known(104)], 1.2, { model }), ...tracker.update([known(108)], 1.6, { model })];
  t.same(events, [], 'no event: the name stays');
  const after = tracker.active()[0]!;
  t.same(
    [after.id, after.actor, after.hits, after.box.x, after.lastSeen],
    [before.id, 'Ben Affleck', before.hits + 2, 108, 1.6],
    'the track moved, two more hits',
  );
  t.equal(after.confidence, before.confidence, 'its confidence unchanged: no evidence added');
  t.same(tracker.settled(2.0, false), [], 'due for an embedding again: 1.2 s since the last one');
  tracker.update([face(108, 0, 5)], 2.0, { model });
  t.equal(tracker.settled(2.4, false).length, 1, 'settled again after it');
  // A known face whose track is gone (or taken) starts nothing.
  tracker.update([{ ...known(108), known: 999 }], 2.4, { model });
  t.equal(tracker.active().length, 1, 'no track started from a known face');
});

t.test('small faces and a period of 0 are never settled', async (t) => {
  const small = (i: number): TrackInput => ({ ...face(100, 0, i), box: { x: 100, y: 50, width: 40, height: 48 } });
  const tracker = new Tracker({ ...OFF, minHits: 2, absentSeconds: 1, embedSeconds: 1.2 });
  for (let i = 0; i < 5; i++) tracker.update([small(i)], i * 0.2, { model });
  t.same(tracker.settled(1.0, false), [], 'a 48 px face is embedded at every detection');
  const off = new Tracker({ ...OFF, minHits: 2, absentSeconds: 1, embedSeconds: 0 });
  for (let i = 0; i < 5; i++) off.update([face(100, 0, i)], i * 0.2, { model });
  t.same(off.settled(1.0, false), [], 'embedSeconds 0: every face at every detection');
});
