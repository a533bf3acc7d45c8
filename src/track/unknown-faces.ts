// Strangers seen recently, grouped online so that one person is one group, ready to be named.
import { randomBytes } from 'node:crypto';
import { Value } from '@sinclair/typebox/value';
import { ConfigSchema, type Config } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { dot, unit } from '../util/vectors.js';
import { faceThumbnail } from '../vision/thumbnail.js';
import type { Box, RgbImage } from '../vision/types.js';
import type { FrameObserver } from './camera-worker.js';

/** An unknown face of a frame: `track` links the faces of one appearance (null: no track yet). */
export interface UnknownSighting {
  box: Box;
  embedding: Float32Array;
  /** The track's name after voting; a named face takes its whole track out of the strangers. */
  actor: string | null;
  track: string | null;
}

/** A group as GET /v1/unknowns shows it. */
export interface UnknownGroup {
  id: string;
  /** Faces kept (one a second per appearance at most). */
  faces: number;
  /** Appearances (tracks) the faces came from. */
  appearances: number;
  firstSeen: string;
  lastSeen: string;
  cameras: string[];
  /** JPEG data URLs, oldest first. */
  thumbnails: string[];
}

export interface UnknownOptions {
  /** Faces older than this are forgotten, in ms. */
  windowMs: number;
  maxFaces: number;
  maxGroups: number;
  /** Cosine to a group's mean from which a face joins it. */
  joinCosine: number;
  /** Cosine between two groups' means from which they are one person. */
  mergeCosine: number;
  /** One face a track per this many ms is kept: video repeats itself at 5 frames a second. */
  perTrackMs: number;
  thumbnails: number;
  thumbnailEveryMs: number;
  /** Faces narrower than this (pixels) are skipped: their descriptors are unreliable and too poor to enroll from. */
  minFaceWidth: number;
  /** Faces of a group enrolled when it is named: a sample of its best and most varied (see sample). */
  enrollFaces: number;
}

/** One face of a group's enrollment sample, as GET /v1/unknowns/:id/faces shows it to be unticked. */
export interface SampleFace {
  id: string;
  /** A JPEG data URL; empty until it is cut (a few milliseconds after the face was seen). */
  thumbnail: string;
  at: string;
  camera: string;
  /** The face's width in the frame, in pixels: larger faces give surer descriptors. */
  width: number;
}

/**
 * The cosines are the embedder's (EmbedderTuning.unknownGroups); these defaults are face-api's.
 * Measured on LFW photos (10 people, 10 photos each, face-api-68): the mean cosine between two photos
 * of one person is 0.94–0.97, between two people's at most 0.885 (Colin Powell and Tony Blair); with
 * these thresholds 7 people's 56 photos, fed one by one with no track, made 8 groups and none mixed
 * two people (test/unknown-faces.test.ts); at 0.90 and 0.91, one photo of Tony Blair joined Colin
 * Powell's group and drew the other seven after it.
 */
export const UNKNOWN_DEFAULTS: UnknownOptions = {
  ...unknownSettings(Value.Default(ConfigSchema.properties.unknowns, {}) as Config['unknowns']),
  joinCosine: 0.91,
  mergeCosine: 0.92,
  perTrackMs: 1000,
  thumbnails: 4,
  thumbnailEveryMs: 5000,
};

/** The options set by the unknowns.* settings, whose defaults are the schema's (src/config/schema.ts). */
export function unknownSettings(settings: Config['unknowns']): Pick<UnknownOptions, 'windowMs' | 'maxFaces' | 'maxGroups' | 'minFaceWidth' | 'enrollFaces'> {
  return {
    windowMs: settings.keepSeconds * 1000,
    maxFaces: settings.maxFaces,
    maxGroups: settings.maxGroups,
    minFaceWidth: settings.minFaceWidth,
    enrollFaces: settings.enrollFaces,
  };
}

/** Faces this wide or wider count as fully sharp when the sample weighs quality. */
const SHARP_WIDTH = 120;

/** The share of a group's faces, least like the rest, left out of its sample: a misgrouped or blurred face. */
const OUTLIERS = 0.1;

interface Stored {
  id: string;
  unit: Float32Array;
  at: number;
  camera: string;
  track: string | null;
  width: number;
  /** A small JPEG data URL, cut after the face is stored; the page shows it to untick the face. */
  thumbnail?: string;
}

interface Group {
  id: string;
  faces: Stored[];
  sum: Float64Array;
}

export class UnknownFaces {
  private readonly options: UnknownOptions;
  private readonly log: Logger;
  private readonly groups = new Map<string, Group>();
  private readonly trackGroup = new Map<string, string>();
  private readonly trackLastKept = new Map<string, number>();
  private total = 0;
  private nextFace = 1;

  constructor(log: Logger, options: Partial<UnknownOptions> = {}) {
    this.log = log;
    this.options = { ...UNKNOWN_DEFAULTS, ...options };
  }

  /** Takes one frame's faces; the named ones only matter for the tracks they clear. */
  observe(camera: string, image: RgbImage | null, sightings: UnknownSighting[], at = Date.now()): void {
    this.expire(at);
    for (const s of sightings) {
      const track = s.track === null ? null : `${camera}#${s.track}`;
      if (s.actor !== null) {
        if (track) this.forgetTrack(track);
        continue;
      }
      if (s.box.width < this.options.minFaceWidth) continue;
      if (track && at - (this.trackLastKept.get(track) ?? -Infinity) < this.options.perTrackMs) continue;
      const direction = unit(s.embedding);
      const group = this.groupFor(direction, track);
      const face: Stored = { id: `f${this.nextFace++}`, unit: direction, at, camera, track, width: s.box.width };
      group.faces.push(face);
      // Each face kept gets a thumbnail (one a second per track at most): the page shows a group's
      // sample to untick before naming it.
      if (image) {
        faceThumbnail(image, s.box, 64).then(
          (url) => (face.thumbnail = url),
          (err: unknown) => this.log.warn({ err }, 'could not cut a thumbnail of an unknown face'),
        );
      }
      for (let i = 0; i < direction.length; i++) group.sum[i]! += direction[i]!;
      this.total++;
      if (track) {
        this.trackGroup.set(track, group.id);
        this.trackLastKept.set(track, at);
      }
      this.mergeInto(group);
    }
    this.bound();
  }

  /**
   * Takes a camera's analysed frame. Only faces of announced tracks count (a face seen once may be a
   * false detection), each with its track's voted name rather than the frame's own guess.
   */
  observeFrame(frame: Parameters<FrameObserver>[0]): void {
    const sightings: UnknownSighting[] = [];
    frame.faces.forEach((f, i) => {
      const live = frame.live[i];
      // A known face (TrackInput.known) has no embedding: its track's earlier faces stand for it.
      if (live?.trackId == null || f.embedding.length === 0) return;
      const track = String(live.trackId);
      // Most faces of a watched room are named and were never strangers: nothing to do for them on each frame.
      if (live.actor !== null && !this.trackGroup.has(`${frame.camera}#${track}`)) return;
      sightings.push({ box: f.box, embedding: f.embedding, actor: live.actor, track });
    });
    if (sightings.length) this.observe(frame.camera, frame.image, sightings);
  }

  /** Groups seen most recently first. */
  list(now = Date.now()): UnknownGroup[] {
    this.expire(now);
    return [...this.groups.values()]
      .map((g) => ({
        id: g.id,
        faces: g.faces.length,
        appearances: new Set(g.faces.map((f) => f.track ?? `single-${f.at}`)).size,
        firstSeen: new Date(g.faces[0]!.at).toISOString(),
        lastSeen: new Date(g.faces.at(-1)!.at).toISOString(),
        cameras: [...new Set(g.faces.map((f) => f.camera))].sort(),
        thumbnails: this.thumbnails(g),
      }))
      .sort((a, b) => b.lastSeen.localeCompare(a.lastSeen));
  }

  /** The group's first few thumbnails, `thumbnailEveryMs` apart, oldest first. */
  private thumbnails(group: Group): string[] {
    const out: string[] = [];
    let last = -Infinity;
    for (const face of group.faces) {
      if (out.length >= this.options.thumbnails) break;
      if (!face.thumbnail || face.at - last < this.options.thumbnailEveryMs) continue;
      out.push(face.thumbnail);
      last = face.at;
    }
    return out;
  }

  /**
   * The faces a group is enrolled from: at most `enrollFaces`, the best and most varied. Larger faces
   * come first (sharper descriptors); each next face is the one least like those already chosen,
   * weighed by its size, so that a long close-up does not crowd out the other angles and a stranger
   * seen for an hour is enrolled from as many faces as one seen for a minute. The faces least like
   * the rest of the group (a tenth) are left out: a misgrouped or blurred face would pull the mean.
   */
  sample(id: string): SampleFace[] | undefined {
    const group = this.groups.get(id);
    if (!group) return undefined;
    return chooseSample(group, this.options.enrollFaces).map((f) => ({
      id: f.id,
      thumbnail: f.thumbnail ?? '',
      at: new Date(f.at).toISOString(),
      camera: f.camera,
      width: Math.round(f.width),
    }));
  }

  /**
   * A group's face embeddings (unit length) to enroll that person: its sample, or of `faces` the ones
   * still held in the group (the sample the page showed, with some unticked). Undefined if the group is
   * gone; an empty list when none of `faces` is in it any more.
   */
  embeddings(id: string, faces?: readonly string[]): Float32Array[] | undefined {
    const group = this.groups.get(id);
    if (!group) return undefined;
    if (!faces) return chooseSample(group, this.options.enrollFaces).map((f) => f.unit);
    const wanted = new Set(faces);
    return group.faces.filter((f) => wanted.has(f.id)).map((f) => f.unit);
  }

  /** Forgets a group: its person was enrolled, or dismissed. */
  remove(id: string): boolean {
    const group = this.groups.get(id);
    if (!group) return false;
    this.drop(group);
    return true;
  }

  private groupFor(unit: Float32Array, track: string | null): Group {
    const linked = track ? this.groups.get(this.trackGroup.get(track) ?? '') : undefined;
    if (linked) return linked;
    let best: { group: Group; score: number } | undefined;
    for (const group of this.groups.values()) {
      const score = averageCosine(unit, group.sum, group.faces.length);
      if (score >= this.options.joinCosine && (!best || score > best.score)) best = { group, score };
    }
    if (best) return best.group;
    const group: Group = { id: randomBytes(6).toString('hex'), faces: [], sum: new Float64Array(unit.length) };
    this.groups.set(group.id, group);
    return group;
  }

  /** A group that has grown towards another is the same person: the other joins it. */
  private mergeInto(group: Group): void {
    for (const other of [...this.groups.values()]) {
      if (other === group || averageCosine(group.sum, other.sum, group.faces.length * other.faces.length) < this.options.mergeCosine) continue;
      for (const f of other.faces) {
        group.faces.push(f);
        for (let i = 0; i < f.unit.length; i++) group.sum[i]! += f.unit[i]!;
        if (f.track) this.trackGroup.set(f.track, group.id);
      }
      group.faces.sort((a, b) => a.at - b.at);
      this.groups.delete(other.id);
    }
  }

  /** A track the tracker named after all was never a stranger. */
  private forgetTrack(track: string): void {
    const group = this.groups.get(this.trackGroup.get(track) ?? '');
    this.trackGroup.delete(track);
    this.trackLastKept.delete(track);
    if (!group) return;
    const kept = group.faces.filter((f) => f.track !== track);
    for (const f of group.faces) if (f.track === track) this.subtract(group, f);
    group.faces = kept;
    if (kept.length === 0) this.drop(group);
  }

  private expire(now: number): void {
    const limit = now - this.options.windowMs;
    for (const group of [...this.groups.values()]) {
      while (group.faces.length && group.faces[0]!.at < limit) this.subtract(group, group.faces.shift()!);
      if (group.faces.length === 0) this.drop(group);
    }
    for (const [track, at] of this.trackLastKept) if (at < limit) this.trackLastKept.delete(track);
  }

  /** Over the limits, the groups seen least recently lose their oldest faces, then go. */
  private bound(): void {
    const stalest = () => [...this.groups.values()].reduce((a, b) => (b.faces.at(-1)!.at < a.faces.at(-1)!.at ? b : a));
    while (this.groups.size > this.options.maxGroups) this.drop(stalest());
    while (this.total > this.options.maxFaces) {
      const group = stalest();
      this.subtract(group, group.faces.shift()!);
      if (group.faces.length === 0) this.drop(group);
    }
  }

  private subtract(group: Group, face: Stored): void {
    for (let i = 0; i < face.unit.length; i++) group.sum[i]! -= face.unit[i]!;
    this.total--;
  }

  private drop(group: Group): void {
    this.total -= group.faces.length;
    this.groups.delete(group.id);
    for (const [track, id] of this.trackGroup) if (id === group.id) this.trackGroup.delete(track);
  }
}

function chooseSample(group: Group, count: number): Stored[] {
  const faces = group.faces;
  if (faces.length <= count) return [...faces];
  // Typicality: each face's mean cosine to the others; the least typical tenth is left out.
  const n = faces.length;
  const typical = faces.map((f) => (dot(f.unit, group.sum) - 1) / (n - 1));
  const cut = [...typical].sort((a, b) => a - b)[Math.floor(n * OUTLIERS)]!;
  const candidates = faces.filter((_, i) => typical[i]! >= cut);
  const quality = (f: Stored) => Math.min(1, f.width / SHARP_WIDTH);
  const chosen: Stored[] = [candidates.reduce((a, b) => (quality(b) > quality(a) ? b : a))];
  // Each candidate's highest cosine to the chosen faces, updated as faces are chosen.
  const nearest = candidates.map((c) => dot(c.unit, chosen[0]!.unit));
  while (chosen.length < Math.min(count, candidates.length)) {
    let best = -1;
    let bestScore = -Infinity;
    candidates.forEach((c, i) => {
      if (chosen.includes(c)) return;
      const score = (1 - nearest[i]!) * (0.5 + 0.5 * quality(c));
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    });
    const next = candidates[best]!;
    chosen.push(next);
    candidates.forEach((c, i) => (nearest[i] = Math.max(nearest[i]!, dot(c.unit, next.unit))));
  }
  return chosen.sort((a, b) => a.at - b.at);
}

/**
 * The mean cosine between the unit vectors summed in `a` and those summed in `b` (`pairs` of them):
 * average linkage. Not the cosine to the normalised mean: every face descriptor shares a large common
 * part, so the mean of a group, and more so of a mixed one, is close to anyone's face.
 */
function averageCosine(a: ArrayLike<number>, b: ArrayLike<number>, pairs: number): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return pairs > 0 ? dot / pairs : 0;
}
