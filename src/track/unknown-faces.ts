// Strangers seen recently, grouped online so that one person is one group, ready to be named.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../logger.js';
import { norm } from '../recognize/ncm-head.js';
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
}

/**
 * Measured on LFW photos (4 people, 8 photos each): the mean cosine between two photos of one person
 * is 0.93–0.96, between two people's 0.82–0.89; with these thresholds 7 people's 56 photos, fed one
 * by one with no track, made 8 groups and none mixed two people (test/unknown-faces.test.ts).
 */
export const UNKNOWN_DEFAULTS: UnknownOptions = { windowMs: 3_600_000, maxFaces: 2000, maxGroups: 100, joinCosine: 0.9, mergeCosine: 0.91, perTrackMs: 1000, thumbnails: 4, thumbnailEveryMs: 5000, minFaceWidth: 40 };

interface Stored {
  unit: Float32Array;
  at: number;
  camera: string;
  track: string | null;
}

interface Group {
  id: string;
  faces: Stored[];
  sum: Float64Array;
  thumbnails: string[];
  lastThumbnailAt: number;
}

export class UnknownFaces {
  private readonly options: UnknownOptions;
  private readonly log: Logger;
  private readonly groups = new Map<string, Group>();
  private readonly trackGroup = new Map<string, string>();
  private readonly trackLastKept = new Map<string, number>();
  private total = 0;

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
      const unit = unitOf(s.embedding);
      const group = this.groupFor(unit, track);
      group.faces.push({ unit, at, camera, track });
      for (let i = 0; i < unit.length; i++) group.sum[i]! += unit[i]!;
      this.total++;
      if (track) {
        this.trackGroup.set(track, group.id);
        this.trackLastKept.set(track, at);
      }
      if (image && group.thumbnails.length < this.options.thumbnails && at - group.lastThumbnailAt >= this.options.thumbnailEveryMs) {
        group.lastThumbnailAt = at;
        faceThumbnail(image, s.box, 64).then(
          (url) => group.thumbnails.push(url),
          (err: unknown) => this.log.warn({ err }, 'could not cut a thumbnail of an unknown face'),
        );
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
      if (live?.trackId == null) return;
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
        thumbnails: [...g.thumbnails],
      }))
      .sort((a, b) => b.lastSeen.localeCompare(a.lastSeen));
  }

  /** A group's face embeddings (unit length), to enroll that person; undefined if it is gone. */
  embeddings(id: string): Float32Array[] | undefined {
    return this.groups.get(id)?.faces.map((f) => f.unit);
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
    const group: Group = { id: randomBytes(6).toString('hex'), faces: [], sum: new Float64Array(unit.length), thumbnails: [], lastThumbnailAt: -Infinity };
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
      group.thumbnails.push(...other.thumbnails.slice(0, Math.max(0, this.options.thumbnails - group.thumbnails.length)));
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

function unitOf(v: Float32Array): Float32Array {
  const n = norm(v);
  return v.map((x) => x / n);
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
