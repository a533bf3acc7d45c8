// Identity over frames: links faces by box overlap and embedding similarity, votes a name per track.
import type { Box } from '../vision/types.js';

/** One face of one frame, as the tracker takes it. */
export interface TrackInput {
  box: Box;
  embedding: Float32Array;
  actor: string | null;
  confidence: number;
}

/** What happened to a track (CONTRACTS.md: P/<camera>/events, plus the left event's extras). */
export interface TrackEvent {
  type: 'appeared' | 'identified' | 'left';
  trackId: number;
  actor: string | null;
  confidence: number;
  /** Stream time in seconds (live: wall clock; scan: position in the video). */
  time: number;
  /** On `left`: how long the track lasted, in seconds, and its best confidence for its actor. */
  durationSeconds?: number;
  bestConfidence?: number;
}

export interface TrackerOptions {
  /** Frames a face must be seen in before it is announced (a single false detection is not a person). */
  minHits: number;
  /** A track unseen this long has left. */
  absentSeconds: number;
  /** Frames named with less confidence than this vote unknown (0: trust the model's thresholds). */
  minConfidence?: number;
}

/** A track's public state. */
export interface TrackView {
  id: number;
  actor: string | null;
  confidence: number;
  box: Box;
  firstSeen: number;
  lastSeen: number;
  hits: number;
  announced: boolean;
}

interface Track extends TrackView {
  embedding: Float32Array;
  votes: Map<string, number>;
  bestConfidence: number;
}

const UNKNOWN = '';
// Older observations fade, so that a track can change its mind, but slowly.
const VOTE_DECAY = 0.85;
// A new name must out-vote the current one by this factor: hysteresis against flicker.
const SWITCH_RATIO = 1.5;
// Votes a name needs before a track takes it (about two confident frames).
const MIN_VOTES = 1.2;
// An unknown face votes less than a named one: the model rejects unsure frames of known people too.
const UNKNOWN_WEIGHT = 0.5;
const MIN_IOU = 0.2;
const MIN_COSINE = 0.8;

export class Tracker {
  private readonly tracks: Track[] = [];
  private nextId = 1;

  constructor(private readonly options: TrackerOptions) {}

  /** Feeds one frame's faces at stream time `time` (seconds); returns the events it caused. */
  update(faces: TrackInput[], time: number): TrackEvent[] {
    const events: TrackEvent[] = [];
    const pairs: { score: number; t: number; f: number }[] = [];
    this.tracks.forEach((track, t) =>
      faces.forEach((face, f) => {
        const iou = overlap(track.box, face.box);
        const cos = cosine(track.embedding, face.embedding);
        if (iou >= MIN_IOU || cos >= MIN_COSINE) pairs.push({ score: iou + cos, t, f });
      }),
    );
    pairs.sort((a, b) => b.score - a.score);
    const usedTracks = new Set<number>();
    const usedFaces = new Set<number>();
    for (const { t, f } of pairs) {
      if (usedTracks.has(t) || usedFaces.has(f)) continue;
      usedTracks.add(t);
      usedFaces.add(f);
      this.observe(this.tracks[t]!, faces[f]!, time, events);
    }
    faces.forEach((face, f) => {
      if (usedFaces.has(f)) return;
      const track: Track = { id: this.nextId++, actor: null, confidence: 0, box: face.box, firstSeen: time, lastSeen: time, hits: 0, announced: false, embedding: Float32Array.from(face.embedding), votes: new Map(), bestConfidence: 0 };
      this.tracks.push(track);
      this.observe(track, face, time, events);
    });
    events.push(...this.expire(time));
    return events;
  }

  /** Ends tracks not seen for `absentSeconds` before `time`; with `all`, ends every track (end of a video). */
  expire(time: number, all = false): TrackEvent[] {
    const events: TrackEvent[] = [];
    for (let i = this.tracks.length - 1; i >= 0; i--) {
      const track = this.tracks[i]!;
      if (!all && time - track.lastSeen < this.options.absentSeconds) continue;
      this.tracks.splice(i, 1);
      if (track.announced) {
        events.push({ type: 'left', trackId: track.id, actor: track.actor, confidence: track.confidence, time, durationSeconds: track.lastSeen - track.firstSeen, bestConfidence: track.bestConfidence });
      }
    }
    return events.reverse();
  }

  /** Announced tracks now on screen. */
  active(): TrackView[] {
    return this.tracks.filter((t) => t.announced).map(({ id, actor, confidence, box, firstSeen, lastSeen, hits, announced }) => ({ id, actor, confidence, box, firstSeen, lastSeen, hits, announced }));
  }

  /** The names on screen now, sorted, each once. */
  actors(): string[] {
    return [...new Set(this.tracks.filter((t) => t.announced && t.actor).map((t) => t.actor!))].sort();
  }

  private observe(track: Track, face: TrackInput, time: number, events: TrackEvent[]): void {
    track.box = face.box;
    track.lastSeen = time;
    track.hits++;
    // A running mean keeps the appearance current as the head turns, without one frame taking over.
    for (let i = 0; i < track.embedding.length; i++) track.embedding[i] = 0.7 * track.embedding[i]! + 0.3 * (face.embedding[i] ?? 0);
    for (const [name, v] of track.votes) track.votes.set(name, v * VOTE_DECAY);
    const named = face.actor !== null && face.confidence >= (this.options.minConfidence ?? 0) ? face.actor : null;
    const label = named ?? UNKNOWN;
    const weight = named ? Math.max(0.5, face.confidence) : UNKNOWN_WEIGHT;
    track.votes.set(label, (track.votes.get(label) ?? 0) + weight);
    const before = track.actor;
    const [leader, leaderVotes] = [...track.votes].reduce((a, b) => (b[1] > a[1] ? b : a));
    const current = track.votes.get(track.actor ?? UNKNOWN) ?? 0;
    // Once named, a track keeps its name through unknown frames; only another name can replace it.
    if (leader !== UNKNOWN && leader !== track.actor && leaderVotes >= MIN_VOTES && leaderVotes >= current * SWITCH_RATIO) track.actor = leader;
    if (named && named === track.actor) {
      track.confidence = face.confidence;
      track.bestConfidence = Math.max(track.bestConfidence, face.confidence);
    }
    if (!track.announced && track.hits >= this.options.minHits) {
      track.announced = true;
      events.push({ type: 'appeared', trackId: track.id, actor: track.actor, confidence: track.confidence, time: track.firstSeen });
      if (track.actor) events.push({ type: 'identified', trackId: track.id, actor: track.actor, confidence: track.confidence, time });
    } else if (track.announced && track.actor !== before) {
      events.push({ type: 'identified', trackId: track.id, actor: track.actor, confidence: track.confidence, time });
    }
  }
}

/** Intersection over union of two boxes. */
export function overlap(a: Box, b: Box): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * (b[i] ?? 0);
    na += a[i]! * a[i]!;
    nb += (b[i] ?? 0) * (b[i] ?? 0);
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}
