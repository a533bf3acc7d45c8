// Identity over frames: links faces within a shot, names each track from the quality-weighted aggregate of its faces.
import type { TrackModel } from '../recognize/actor-model.js';
import { spreadThreshold } from '../train/thresholds.js';
import type { Box } from '../vision/types.js';
import { dot, unit } from '../util/vectors.js';
import { centreDistance, iou, similarSize } from '../vision/boxes.js';

export type { TrackModel };

/** One face of one frame, as the tracker takes it. */
export interface TrackInput {
  box: Box;
  /** Unit-length embedding. */
  embedding: Float32Array;
  /** The frame's own decision, shown until the track has one of its own. */
  actor: string | null;
  confidence: number;
  /** The model's scores for this face, one per actor of `TrackModel.actors`; absent without a model. */
  scores?: Float32Array;
  /** How much this face is worth as evidence (0–1): size, sharpness, pose, detector score. */
  quality: number;
  /** How far over the threshold a face this blurred must be (cosine; see vision/quality.ts). */
  margin?: number;
  /**
   * Not detected: found in the box of track `follows` ({@link Tracker.followed}) by its landmarks.
   * It joins that track only if its embedding is that track's face (link.near), and never starts one.
   */
  follows?: number;
  /**
   * Detected in the box of settled track `known` ({@link Tracker.settled}) and not looked at again: no
   * landmarks, no embedding (empty), no name of its own. It moves that track and counts as a hit, but
   * adds no evidence; it never starts a track.
   */
  known?: number;
}

/** What happened to a track (CONTRACTS.md: P/<camera>/events, plus the left event's extras). */
export interface TrackEvent {
  type: 'appeared' | 'identified' | 'left';
  trackId: number;
  actor: string | null;
  confidence: number;
  /** Stream time in seconds (live: wall clock; scan: position in the video). */
  time: number;
  /** On `identified`: the name the track had before (null: unknown). */
  previous?: string | null;
  /** On `left`: how long the track lasted, in seconds, and its best confidence for its actor. */
  durationSeconds?: number;
  bestConfidence?: number;
}

/** The track.* settings (their defaults are the schema's, src/config/schema.ts), and the embedder's link cosines. */
export interface TrackerOptions {
  /** Frames a face must be seen in before it is announced (a single false detection is not a person). */
  minHits: number;
  /** A track unseen this long has left. */
  absentSeconds: number;
  /** A track is named only when its aggregate confidence reaches this too (0: the model's thresholds alone). */
  minConfidence: number;
  /** Embedding cosines that link a face to a track: measured per embedder (see LINK_DEFAULTS). */
  link?: LinkThresholds;
  /**
   * A track whose own best candidate falls short is still named after a person named in the last
   * `reidSeconds` (another shot, the same camera) whose faces it matches as closely as `link.reid`
   * requires; 0: never.
   */
  reidSeconds: number;
  /**
   * A settled track's face (see {@link Tracker.settled}) is embedded again only this long (seconds)
   * after its last embedding; the detections between just move the track. 0 or absent: every detection.
   */
  embedSeconds?: number;
}

/**
 * Cosines between a track's recent face and a new face that link them, by how close the new face is:
 * `overlapping` boxes (IoU ≥ 0.3), `near` (within one face of where the track was), `anywhere` in the
 * same shot (after an occlusion). Set per embedder from same- and different-person pairs (see
 * EmbedderTuning): `anywhere` where about 0.2% of pairs of different people reach; video faces of one
 * person, small and turning, fall lower than photos, so position carries most of the link and the
 * embedding only vetoes a different face in the same place. `reid`: a track's faces against those of a
 * track named in an earlier shot, when the track's own best candidate is that name too (two conditions,
 * so it may sit a little lower, just over the different-person pairs' 99.9th percentile). The defaults
 * are face-api's.
 */
export interface LinkThresholds {
  overlapping: number;
  near: number;
  anywhere: number;
  reid: number;
}

export const LINK_DEFAULTS: LinkThresholds = { overlapping: 0.7, near: 0.85, anywhere: 0.92, reid: 0.92 };

/** A track and where its face was at the last detection: what a frame's analysis follows or knows (AnalyzeOptions). */
export interface TrackBox {
  id: number;
  box: Box;
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
  /**
   * The embedding of its latest detected face: what the next face is compared with. A followed face
   * does not replace it, so that a face followed while it slowly leaves its box cannot drag the
   * comparison along with it.
   */
  last: Float32Array;
  bestConfidence: number;
  evidence: Evidence;
  /** Detected faces embedded into its evidence, and the time of the latest. */
  embedded: number;
  embeddedAt: number;
}

/** Running, quality-weighted sums of a track's faces: enough to name it at any time in constant memory. */
interface Evidence {
  version: string | null;
  /** When the sums were last added to (they fade from there). */
  at: number;
  weight: number;
  /** Quality-weighted sum of the faces' blur margins. */
  margin: number;
  embedding: Float64Array;
  scores: Float64Array;
}

/**
 * Evidence older than this weighs half as much: enough frames to add up (25 at 5 frames a second),
 * and a track misnamed early still comes round as its face turns to the light.
 */
const EVIDENCE_HALF_LIFE_SECONDS = 5;

/** A name must lead the track's current one by this much (aggregate score) to replace it: hysteresis. */
const SWITCH_MARGIN = 0.01;

/**
 * Faces under this height (px) embed too noisily to veto a link by themselves: size alone costs them
 * accuracy below it (vision/quality.ts: FULL_SIZE), and a 37 px face's cosine to its own track moved
 * from 0.53 to 0.18 with its box 0.1 px away (the Hera Pheri scene's one-frame last shot).
 */
const SMALL_FACE = 64;

/**
 * Embedded faces a track needs before its detections may skip the embedding (track.embedSeconds): its
 * name (or its being nobody known) then rests on a few faces, and one more every embedSeconds keeps checking it.
 */
const SETTLED_FACES = 3;

/** How many of the latest shots' last tracks are kept for a shot that takes one up again. */
const RESUME_SHOTS = 8;

export class Tracker {
  private readonly tracks: Track[] = [];
  private nextId = 1;
  private readonly link: LinkThresholds;
  /** Frames analysed since the last cut, this one included. */
  private shotFrames = 0;
  /** Named tracks that ended recently: their faces' mean (unit) and name, for re-identification across shots. */
  private readonly recent: { embedding: Float32Array; actor: string; at: number }[] = [];
  /** Stream time of the last frame with faces fed to the tracker (its last detection). */
  private previousUpdate: number | undefined;
  /** The shot of the latest frame (ShotDetector's numbering; counted here when the caller gives none). */
  private shot = 1;
  /** The tracks on screen when each of the latest shots ended, newest last, for a shot that takes one up again. */
  private readonly shotEnds: { shot: number; tracks: Track[] }[] = [];
  /** The tracks of the shot this one takes up again, until their faces are found or `until` passes. */
  private resumable: { tracks: Track[]; until: number } | undefined;

  constructor(private readonly options: TrackerOptions) {
    this.link = options.link ?? LINK_DEFAULTS;
  }

  /**
   * Feeds one frame's faces at stream time `time` (seconds); `cut`: the frame starts a new shot, so
   * every track ends first (a track never crosses a cut); `shot` and `resumes`: the ShotDetector's
   * numbering, and the earlier shot this one takes up again (see {@link Tracker.resume}). Returns the
   * events it caused.
   */
  update(faces: TrackInput[], time: number, options: { cut?: boolean; model?: TrackModel | null; shot?: number; resumes?: number } = {}): TrackEvent[] {
    const events: TrackEvent[] = options.cut ? this.cut(time, options.shot, options.resumes) : [];
    this.shotFrames = options.cut ? 1 : this.shotFrames + 1;
    if (this.resumable && time > this.resumable.until) this.resumable = undefined;
    const pairs: { score: number; t: number; f: number }[] = [];
    const usedTracks = new Set<number>();
    const usedFaces = new Set<number>();
    const touched: Track[] = [];
    // A known face is its track's before anything else is paired (the pipeline made sure no other face is in its place).
    touched.push(...this.takeOwn('known', faces, time, options.model ?? null, usedTracks, usedFaces));
    this.tracks.forEach((track, t) =>
      faces.forEach((face, f) => {
        if (face.follows !== undefined || usedFaces.has(f)) return;
        const overlap = iou(track.box, face.box);
        const cos = dot(track.last, face.embedding);
        if (this.links(track, face, overlap, cos)) pairs.push({ score: overlap + cos, t, f });
      }),
    );
    pairs.sort((a, b) => b.score - a.score);
    const take = ({ t, f }: { t: number; f: number }) => {
      if (usedTracks.has(t) || usedFaces.has(f)) return;
      usedTracks.add(t);
      usedFaces.add(f);
      this.observe(this.tracks[t]!, faces[f]!, time, options.model ?? null);
      touched.push(this.tracks[t]!);
    };
    pairs.forEach(take);
    this.turnedAway(faces, usedTracks, usedFaces).forEach(take);
    // A detected face goes first: a followed face joins its track only where no detection did.
    touched.push(...this.takeOwn('followed', faces, time, options.model ?? null, usedTracks, usedFaces));
    this.previousUpdate = time;
    const resumed = this.resume(faces, usedFaces);
    faces.forEach((face, f) => {
      if (usedFaces.has(f) || face.follows !== undefined) return;
      const track: Track = {
        id: this.nextId++,
        actor: null,
        confidence: 0,
        box: face.box,
        firstSeen: time,
        lastSeen: time,
        hits: 0,
        announced: false,
        last: face.embedding,
        bestConfidence: 0,
        evidence: resumed.get(f) ?? emptyEvidence(face.embedding.length),
        embedded: 0,
        embeddedAt: time,
      };
      this.tracks.push(track);
      this.observe(track, face, time, options.model ?? null);
      touched.push(track);
    });
    for (const track of touched) this.decide(track, time, options.model ?? null, events);
    events.push(...this.expire(time));
    return events;
  }

  /**
   * Faces that name their own track, `how` they were found: followed faces (TrackInput.follows) that
   * are still their track's face, the embedding as close to the track's last detected face as a face
   * nearby must be (link.near), add evidence and keep the track on screen, but are not hits (a track
   * is announced on detections) and do not move it; the others are dropped (the face turned or left
   * its box, and the next detection says where it is). Known faces (TrackInput.known) move their
   * track as a hit without evidence. Neither starts a track.
   */
  private takeOwn(
    how: 'followed' | 'known',
    faces: TrackInput[],
    time: number,
    model: TrackModel | null,
    usedTracks: Set<number>,
    usedFaces: Set<number>,
  ): Track[] {
    const out: Track[] = [];
    faces.forEach((face, f) => {
      const id = how === 'followed' ? face.follows : face.known;
      if (id === undefined) return;
      usedFaces.add(f);
      const t = this.tracks.findIndex((track) => track.id === id);
      const track = this.tracks[t];
      if (!track || usedTracks.has(t) || (how === 'followed' && dot(track.last, face.embedding) < this.link.near)) return;
      usedTracks.add(t);
      this.observe(track, how === 'followed' ? { ...face, box: track.box } : face, time, model, how);
      out.push(track);
    });
    return out;
  }

  /**
   * The tracks whose faces the next analysed frame (at `time`) need not embed if it finds them where
   * they were (AnalyzeOptions.known): announced, seen at the last detection, at least SMALL_FACE px high
   * (a smaller face embeds too noisily to rest on a few), with SETTLED_FACES faces embedded and the
   * latest less than `embedSeconds` ago. None on a cut, or with embedSeconds 0.
   */
  settled(time: number, cut: boolean): TrackBox[] {
    const period = this.options.embedSeconds ?? 0;
    if (cut || !(period > 0)) return [];
    return this.tracks
      .filter(
        (t) => t.announced && t.lastSeen === this.previousUpdate && t.box.height >= SMALL_FACE && t.embedded >= SETTLED_FACES && time - t.embeddedAt < period,
      )
      .map((t) => ({ id: t.id, box: t.box }));
  }

  /**
   * The faces to follow into the next analysed frame: announced tracks seen at the last detection,
   * with their boxes (see AnalyzeOptions.follow). `cut`: the next frame starts a new shot, which
   * follows none (its update ends these tracks).
   */
  followed(cut: boolean): TrackBox[] {
    if (cut) return [];
    return this.tracks.filter((t) => t.announced && t.lastSeen === this.previousUpdate).map((t) => ({ id: t.id, box: t.box }));
  }

  /**
   * Pairs of a track and a face the embeddings did not link, where the face is in the track's place:
   * a face turning to profile or closing its eyes can change its embedding past any link (measured:
   * Akshay Kumar turning away in the Hera Pheri scene, cosine -0.03 to his face 0.4 s before, 33 px,
   * 29 px from where it was), and his track would end with its name while a new, unnamed one went on
   * in its place. Taken only when neither has another candidate: a track seen at the last detection,
   * a face within one face height of it at about the same size, no other such face for the track nor
   * track for the face, and a face not named as someone else on its own (a different person who
   * walks into that place is known by their own name).
   */
  private turnedAway(faces: TrackInput[], usedTracks: Set<number>, usedFaces: Set<number>): { t: number; f: number }[] {
    const near: { t: number; f: number }[] = [];
    this.tracks.forEach((track, t) => {
      if (usedTracks.has(t) || track.lastSeen !== this.previousUpdate) return;
      faces.forEach((face, f) => {
        if (usedFaces.has(f) || face.follows !== undefined || face.known !== undefined || !similarSize(track.box, face.box)) return;
        if (centreDistance(track.box, face.box) <= Math.max(track.box.height, face.box.height)) near.push({ t, f });
      });
    });
    return inTheirPlace(near, faces, this.tracks);
  }

  /**
   * A cut: every track ends, and the shot's last tracks are kept in case a later shot takes it up
   * again; `resumes` is the earlier shot the new one takes up, whose tracks' faces may now be found.
   */
  private cut(time: number, shot: number | undefined, resumes: number | undefined): TrackEvent[] {
    const ending = this.tracks.filter((t) => t.evidence.weight > 0);
    const events = this.expire(time, true);
    this.shotEnds.push({ shot: this.shot, tracks: ending });
    if (this.shotEnds.length > RESUME_SHOTS) this.shotEnds.shift();
    this.shot = shot ?? this.shot + 1;
    const earlier = resumes === undefined ? undefined : this.shotEnds.find((s) => s.shot === resumes);
    this.resumable = earlier && earlier.tracks.length > 0 ? { tracks: [...earlier.tracks], until: time + this.options.absentSeconds } : undefined;
    return events;
  }

  /**
   * Faces of a shot that takes an earlier one up again (the same camera set-up after a cutaway, as
   * film and TV cut back and forth) found where a face of that shot was at its end, about as large,
   * and alike enough to link within a shot: each new track starts from that face's evidence (faded
   * over the time between), so a face too small to name on its own is named as it was before the
   * cutaway, and a different face in the same place is not linked. "Alike" is the closer of the
   * track's last face and its faces' weighted mean: a small face embeds noisily, and two noisy
   * faces agree less than one does with the mean of many (Akshay Kumar, 24 px, after the Hera Pheri
   * scene's cutaway: cosine 0.31 to his last face with the int8 detector's box, 0.49 with the float
   * one's, 0.50 to his track's mean with either; link.near is 0.42). Returns the evidence by face index.
   */
  private resume(faces: TrackInput[], usedFaces: Set<number>): Map<number, Evidence> {
    const out = new Map<number, Evidence>();
    const from = this.resumable;
    if (!from) return out;
    const pairs: { score: number; t: number; f: number }[] = [];
    const placed: { t: number; f: number }[] = [];
    const means = from.tracks.map((track) => unit(track.evidence.embedding));
    from.tracks.forEach((track, t) =>
      faces.forEach((face, f) => {
        if (usedFaces.has(f)) return;
        const overlap = iou(track.box, face.box);
        if (!similarSize(track.box, face.box) || (overlap < 0.3 && centreDistance(track.box, face.box) > track.box.height)) return;
        placed.push({ t, f });
        const cos = Math.max(dot(track.last, face.embedding), dot(means[t]!, face.embedding));
        if (cos >= this.link.near) pairs.push({ score: overlap + cos, t, f });
      }),
    );
    pairs.sort((a, b) => b.score - a.score);
    const taken = new Set<number>();
    const take = (t: number, f: number) => {
      taken.add(t);
      out.set(f, copyEvidence(from.tracks[t]!.evidence));
    };
    for (const { t, f } of pairs) if (!taken.has(t) && !out.has(f)) take(t, f);
    // A face too small for its embedding to say who it is (under SMALL_FACE px, where one chip can
    // land near nobody) is still taken where it is the only face in the place of the only such track,
    // unless it is named as someone else on its own: the rule turnedAway applies within a shot.
    const open = placed.filter(({ t, f }) => !taken.has(t) && !out.has(f));
    for (const { t, f } of inTheirPlace(open, faces, from.tracks)) if (faces[f]!.box.height < SMALL_FACE) take(t, f);
    from.tracks = from.tracks.filter((_, t) => !taken.has(t));
    return out;
  }

  /**
   * Ends tracks not seen for `absentSeconds` before `time`; with `all`, ends every track (a cut, the
   * end of a video). A shot too short to see a face `minHits` times still counts the faces seen in
   * every one of its frames: a person on screen for a quarter of a second is there.
   */
  expire(time: number, all = false): TrackEvent[] {
    const events: TrackEvent[] = [];
    for (let i = this.tracks.length - 1; i >= 0; i--) {
      const track = this.tracks[i]!;
      if (!all && time - track.lastSeen < this.options.absentSeconds) continue;
      this.tracks.splice(i, 1);
      this.remember(track);
      if (all && !track.announced && this.shotFrames < this.options.minHits && track.hits >= this.shotFrames) {
        track.announced = true;
        events.push(leftEvent(track, time));
        events.push({ type: 'appeared', trackId: track.id, actor: track.actor, confidence: track.confidence, time: track.firstSeen });
        continue;
      }
      if (track.announced) {
        events.push(leftEvent(track, time));
      }
    }
    return events.reverse();
  }

  /** Announced tracks now on screen. */
  active(): TrackView[] {
    return this.tracks.filter((t) => t.announced).map(view);
  }

  /**
   * Tracks that took a face at `time` or later (announced or not), for callers that follow faces frame
   * by frame: with `time` the last frame's, the faces of that frame.
   */
  seenSince(time: number): TrackView[] {
    return this.tracks.filter((t) => t.lastSeen >= time).map(view);
  }

  /** Whether track `id` is still followed. */
  has(id: number): boolean {
    return this.tracks.some((t) => t.id === id);
  }

  /** The names on screen now, sorted, each once. */
  actors(): string[] {
    return [...new Set(this.tracks.filter((t) => t.announced && t.actor).map((t) => t.actor!))].sort();
  }

  /** Keeps an ending named track's look for re-identification, and forgets looks older than reidSeconds. */
  private remember(track: Track): void {
    const keep = this.options.reidSeconds;
    if (keep > 0 && track.actor !== null && track.evidence.weight > 0)
      this.recent.push({ embedding: unit(track.evidence.embedding), actor: track.actor, at: track.lastSeen });
    const since = track.lastSeen - keep;
    while (this.recent.length > 0 && (this.recent[0]!.at < since || this.recent.length > 200)) this.recent.shift();
  }

  /** Whether someone named `actor` ended recently whose faces this track's match as one person's. */
  private seenBefore(track: Track, actor: string): boolean {
    if (!this.options.reidSeconds || this.recent.length === 0) return false;
    const look = unit(track.evidence.embedding);
    return this.recent.some((r) => r.actor === actor && track.firstSeen - r.at <= this.options.reidSeconds! && dot(look, r.embedding) >= this.link.reid);
  }

  private links(track: Track, face: TrackInput, iou: number, cos: number): boolean {
    if (iou >= 0.3 && cos >= this.link.overlapping) return true;
    const size = Math.max(track.box.height, face.box.height, 1);
    if (centreDistance(track.box, face.box) <= size && cos >= this.link.near) return true;
    return cos >= this.link.anywhere;
  }

  /**
   * Adds a face to a track: a detected face moves it, counts as a hit and adds to its evidence; a
   * followed face (TrackInput.follows) only adds evidence; a known one (TrackInput.known) adds none.
   */
  private observe(track: Track, face: TrackInput, time: number, model: TrackModel | null, how: 'detected' | 'followed' | 'known' = 'detected'): void {
    track.box = face.box;
    track.lastSeen = time;
    if (how !== 'followed') track.hits++;
    if (how === 'known') return;
    if (how === 'detected') {
      track.last = face.embedding;
      track.embedded++;
      track.embeddedAt = time;
    }
    const e = track.evidence;
    // Scores of another model version cannot be summed with these: start the name's evidence again.
    if (model && e.version !== model.version) {
      e.version = model.version;
      e.weight = 0;
      e.margin = 0;
      e.embedding.fill(0);
      e.scores = new Float64Array(model.actors.length);
    }
    const fade = 0.5 ** (Math.max(0, time - e.at) / EVIDENCE_HALF_LIFE_SECONDS);
    e.at = time;
    e.weight *= fade;
    e.margin *= fade;
    for (let i = 0; i < e.embedding.length; i++) e.embedding[i]! *= fade;
    for (let k = 0; k < e.scores.length; k++) e.scores[k]! *= fade;
    const w = Math.max(1e-3, face.quality);
    e.weight += w;
    e.margin += w * (face.margin ?? 0);
    for (let i = 0; i < e.embedding.length; i++) e.embedding[i]! += w * (face.embedding[i] ?? 0);
    if (face.scores && face.scores.length === e.scores.length) for (let k = 0; k < e.scores.length; k++) e.scores[k]! += w * face.scores[k]!;
  }

  /** Names the track from its evidence, and says what changed. */
  private decide(track: Track, time: number, model: TrackModel | null, events: TrackEvent[]): void {
    const before = track.actor;
    const verdict = model ? judge(track.evidence, model) : null;
    const floor = this.options.minConfidence;
    if (verdict) {
      // Its own evidence, or its own best candidate confirmed by the look of someone named in an
      // earlier shot (a sitcom cuts back and forth between the same faces).
      const passes = verdict.score >= verdict.threshold || this.seenBefore(track, verdict.actor);
      const accepted = passes && verdict.score >= floor ? verdict.actor : null;
      const current = track.actor === null ? null : verdict.aggregate.get(track.actor);
      // Once named, a track keeps its name until another actor's evidence clearly leads; it loses it
      // only when the aggregate falls under the threshold by the same margin.
      if (accepted && accepted !== track.actor && (current === undefined || current === null || verdict.score >= current + SWITCH_MARGIN))
        track.actor = accepted;
      else if (
        !accepted &&
        track.actor !== null &&
        (current ?? -Infinity) < verdict.thresholdOf(track.actor) - SWITCH_MARGIN &&
        !this.seenBefore(track, track.actor)
      )
        track.actor = null;
      track.confidence = track.actor === null ? verdict.score : (verdict.aggregate.get(track.actor) ?? verdict.score);
      if (track.actor !== null) track.bestConfidence = Math.max(track.bestConfidence, track.confidence);
    }
    if (!track.announced && track.hits >= this.options.minHits) {
      track.announced = true;
      // One event: a face known at its first announcement is `appeared` with its name, not two events.
      events.push({ type: 'appeared', trackId: track.id, actor: track.actor, confidence: track.confidence, time: track.firstSeen });
    } else if (track.announced && track.actor !== before) {
      events.push({ type: 'identified', trackId: track.id, actor: track.actor, confidence: track.confidence, time, previous: before });
    }
  }
}

interface Verdict {
  actor: string;
  score: number;
  threshold: number;
  aggregate: Map<string, number>;
  thresholdOf(actor: string): number;
}

/**
 * The track's aggregate score for every actor: for cosines, the cosine between each class mean and the
 * quality-weighted mean of the faces' unit embeddings (the weighted mean of the faces' cosines divided
 * by that mean's length, since the means are unit vectors); for probabilities, their weighted mean.
 */
function judge(e: Evidence, model: TrackModel): Verdict | null {
  if (e.weight <= 0 || e.version !== model.version || e.scores.length === 0) return null;
  let length = 1;
  if (model.score === 'cosine') {
    let s = 0;
    for (const x of e.embedding) s += (x / e.weight) ** 2;
    length = Math.sqrt(s) || 1;
  }
  const aggregate = new Map<string, number>();
  let best = 0;
  for (let k = 0; k < e.scores.length; k++) {
    aggregate.set(model.actors[k]!, e.scores[k]! / e.weight / length);
    if (e.scores[k]! > e.scores[best]!) best = k;
  }
  const actor = model.actors[best]!;
  // A track of blurred faces must clear the bar by their weighted blur margin, as each face would.
  const margin = e.margin / e.weight;
  const raise = (t: number) => (model.score === 'cosine' ? spreadThreshold(t, length) + margin : t);
  const thresholdOf = (name: string) => raise(model.thresholds[model.actors.indexOf(name)] ?? Infinity);
  return { actor, score: aggregate.get(actor)!, threshold: raise(model.thresholds[best]!), aggregate, thresholdOf };
}

function emptyEvidence(size: number): Evidence {
  return { version: null, at: 0, weight: 0, margin: 0, embedding: new Float64Array(size), scores: new Float64Array(0) };
}

function copyEvidence(e: Evidence): Evidence {
  return { ...e, embedding: Float64Array.from(e.embedding), scores: Float64Array.from(e.scores) };
}

/**
 * The pairs of a track and a face in its place that nothing else competes for: the track has no other
 * face there, the face no other track, and the face is not named as someone else on its own.
 */
function inTheirPlace(near: { t: number; f: number }[], faces: TrackInput[], tracks: readonly TrackView[]): { t: number; f: number }[] {
  return near.filter(
    ({ t, f }) => near.filter((p) => p.t === t || p.f === f).length === 1 && (faces[f]!.actor === null || faces[f]!.actor === tracks[t]!.actor),
  );
}

function view({ id, actor, confidence, box, firstSeen, lastSeen, hits, announced }: Track): TrackView {
  return { id, actor, confidence, box, firstSeen, lastSeen, hits, announced };
}

/** The `left` event of a track that ends at `time`: how long it was seen and its best confidence. */
function leftEvent(track: Track, time: number): TrackEvent {
  const { id: trackId, actor, confidence, bestConfidence } = track;
  return { type: 'left', trackId, actor, confidence, time, durationSeconds: track.lastSeen - track.firstSeen, bestConfidence };
}
