// Unknown faces: one stranger is one group, two strangers are two, tracks link faces, memory is bounded.
import t from 'tap';
import { silentLogger } from '../src/logger.js';
import { cosine } from '../src/recognize/ncm-head.js';
import { UNKNOWN_DEFAULTS, UnknownFaces, type UnknownSighting } from '../src/track/unknown-faces.js';
import { DEFAULT_EMBEDDER, embedderSpec, embedderTuning } from '../src/vision/embedder.js';
import { randomUnit } from './helpers/bundles.js';
import { datasetsMissing, faces } from './helpers/datasets.js';
import { embeddingsOf, photosOf } from './helpers/embeddings.js';

const box = { x: 10, y: 10, width: 80, height: 100 };
const sighting = (embedding: Float32Array, track: string | null = null, actor: string | null = null): UnknownSighting => ({ box, embedding, actor, track });
const image = { data: new Uint8Array(200 * 200 * 3).fill(90), width: 200, height: 200 };

t.test('real strangers: each person is one group, and no group mixes two people', { skip: datasetsMissing() }, async (t) => {
  const people = ['Colin Powell', 'Tony Blair', 'Hugo Chavez', 'Jacques Chirac', 'Ariel Sharon', 'Vladimir Putin', 'Gerhard Schroeder'];
  const photos = await Promise.all(people.map(async (p) => embeddingsOf((await photosOf(faces('lfw', p))).slice(0, 8))));
  // The default embedder's cosines, as the daemon sets them (live-video.ts).
  const groupsAt = embedderTuning(embedderSpec(DEFAULT_EMBEDDER)).unknownGroups;
  const unknowns = new UnknownFaces(silentLogger(), { joinCosine: groupsAt.join, mergeCosine: groupsAt.merge });
  // Interleaved, each photo on its own (no track), as strangers walk past one by one.
  const start = Date.now();
  for (let i = 0; i < 8; i++) {
    photos.forEach((list, p) => {
      const e = list[i];
      if (!e) return;
      unknowns.observe('door', null, [sighting(e)], start + i * 100 + p);
    });
  }
  const groups = unknowns.list(start + 1000);
  const who = (u: Float32Array) => people[photos.findIndex((list) => list.some((e) => cosine(e, u) > 0.99999))]!;
  const members = groups.map((g) => unknowns.embeddings(g.id)!.map(who));
  const mixed = members.filter((m) => new Set(m).size > 1);
  t.comment(`groups: ${members.map((m) => `${m[0]} ×${m.length}`).join(', ')}`);
  t.equal(mixed.length, 0, 'no group holds two people');
  for (const person of people) {
    const theirs = members.filter((m) => m[0] === person);
    const largest = Math.max(...theirs.map((m) => m.length));
    t.ok(
      largest >= photos[people.indexOf(person)]!.length - 2,
      `${person}: one group holds nearly all their photos (${theirs.map((m) => m.length).join('+')})`,
    );
  }
  t.ok(groups.length >= people.length && groups.length <= people.length + 4, `${groups.length} groups for ${people.length} people`);
});

t.test('a track is one group even when its faces differ; a track named later is no stranger', async (t) => {
  const unknowns = new UnknownFaces(silentLogger(), { perTrackMs: 0 });
  unknowns.observe('cam', null, [sighting(randomUnit(1), '7'), sighting(randomUnit(2), '8')], 1000);
  unknowns.observe('cam', null, [sighting(randomUnit(3), '7')], 2000);
  let groups = unknowns.list(2000);
  t.equal(groups.length, 2, 'two tracks of two different faces: two groups');
  t.same(groups.map((g) => g.faces).sort(), [1, 2], "track 7's two faces share a group though they look nothing alike");
  // The tracker's vote names track 8 after all: its faces leave the strangers.
  unknowns.observe('cam', null, [sighting(randomUnit(2), '8', 'Madonna')], 3000);
  groups = unknowns.list(3000);
  t.equal(groups.length, 1);
  t.equal(groups[0]!.faces, 2);
  // The same track number on another camera is another track.
  unknowns.observe('other', null, [sighting(randomUnit(9), '7')], 3500);
  t.equal(unknowns.list(3500).length, 2);
});

t.test('one face a second per track, thumbnails, expiry, and bounds on faces and groups', async (t) => {
  const unknowns = new UnknownFaces(silentLogger(), { windowMs: 10_000, maxFaces: 5, maxGroups: 3, thumbnailEveryMs: 0 });
  const e = randomUnit(4);
  for (let i = 0; i < 10; i++) unknowns.observe('cam', image, [sighting(e, '1')], 1000 + i * 200);
  let [group] = unknowns.list(3000);
  t.equal(group!.faces, 2, '10 frames over 2 s: one face a second kept');
  await new Promise((r) => setTimeout(r, 200));
  [group] = unknowns.list(3000);
  t.match(group!.thumbnails[0], /^data:image\/jpeg;base64,/, 'a thumbnail as a data URL');
  t.same(group!.cameras, ['cam']);
  unknowns.observe('cam', null, [{ ...sighting(e), box: { ...box, width: 20 } }], 3100);
  t.equal(unknowns.list(3100)[0]!.faces, 2, 'a face 20 px wide is too small to keep');
  for (let i = 10; i < 20; i++) unknowns.observe('cam', null, [sighting(randomUnit(i))], 4000 + i);
  const groups = unknowns.list(4100);
  t.equal(groups.length, 3, 'at most maxGroups groups, the stalest dropped');
  t.ok(groups.reduce((n, g) => n + g.faces, 0) <= 5, 'at most maxFaces faces');
  t.same(unknowns.list(30_000), [], 'all forgotten after the window');
  t.equal(unknowns.remove('nope'), false);
});

t.test("a camera's frame: only faces of announced tracks count, with the track's name", async (t) => {
  const unknowns = new UnknownFaces(silentLogger());
  const face = (seed: number) => ({ box, embedding: randomUnit(seed), actor: null, confidence: 0.5, candidates: [], quality: 1 });
  unknowns.observeFrame({
    camera: 'cam',
    image,
    receivedAt: Date.now(),
    faces: [face(1), face(2), face(3)],
    live: [
      { box, actor: null, confidence: 0.5, trackId: 4 },
      { box, actor: null, confidence: 0.5, trackId: null },
      { box, actor: 'Madonna', confidence: 0.5, trackId: 5 },
    ],
  });
  const groups = unknowns.list();
  t.equal(groups.length, 1, 'the unannounced face and the named track are left out');
  t.equal(groups[0]!.appearances, 1);
});

t.test("a stranger seen for long is enrolled from a sample of the group's best and most varied faces", { skip: datasetsMissing() }, async (t) => {
  const photos = await embeddingsOf((await photosOf(faces('lfw', 'Tony Blair'))).slice(0, 8));
  const other = await embeddingsOf((await photosOf(faces('lfw', 'Jacques Chirac'))).slice(0, 5));
  const unknowns = new UnknownFaces(silentLogger());
  const start = Date.now() - 400_000;
  // Five minutes of one track, a face a second, cycling through his eight photos at two sizes; and,
  // wrongly linked into the same track, five faces of another man.
  const widths = new Map<Float32Array, number>();
  for (let i = 0; i < 300; i++) {
    const e = photos[i % photos.length]!;
    const width = i % 16 < 8 ? 60 : 150;
    unknowns.observe('door', image, [{ ...sighting(e, '1'), box: { ...box, width } }], start + i * 1000);
    widths.set(e, Math.max(widths.get(e) ?? 0, width));
  }
  other.forEach((e, i) => unknowns.observe('door', null, [sighting(e, '1')], start + 300_000 + i * 1000));
  const [group] = unknowns.list();
  t.equal(group!.faces, 305, 'every face a second is kept');
  // Thumbnails are cut in the background, a few milliseconds each.
  for (const end = Date.now() + 20_000; Date.now() < end && unknowns.sample(group!.id)!.some((f) => !f.thumbnail);)
    await new Promise((r) => setTimeout(r, 100));
  const sample = unknowns.sample(group!.id)!;
  t.equal(sample.length, UNKNOWN_DEFAULTS.enrollFaces, `a sample of ${UNKNOWN_DEFAULTS.enrollFaces} faces, not 305`);
  t.ok(
    sample.every((f) => f.thumbnail.startsWith('data:image/jpeg;base64,')),
    'each with a thumbnail to untick',
  );
  const chosen = unknowns.embeddings(group!.id)!;
  t.equal(chosen.length, sample.length, 'enrolling the group takes the sample');
  const which = (u: Float32Array) => photos.findIndex((p) => cosine(p, u) > 0.99999);
  t.same([...new Set(chosen.map(which))].sort(), [0, 1, 2, 3, 4, 5, 6, 7], 'every one of his eight photos is in it');
  t.equal(chosen.filter((u) => which(u) < 0).length, 0, "none of the other man's faces, the group's least typical");
  t.ok(sample.slice(0, 8).length === 8 && sample.filter((f) => f.width === 150).length >= 8, 'the larger copies are taken first');
  const ticked = sample.slice(0, 5).map((f) => f.id);
  t.equal(unknowns.embeddings(group!.id, ticked)!.length, 5, 'or the faces of it that were left ticked');
  t.same(unknowns.embeddings(group!.id, ['nope']), [], 'a face no longer held: none');
  t.equal(unknowns.sample('nope'), undefined);
});
