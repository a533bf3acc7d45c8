// The API answers the page reads, as docs/rest-api.md describes them (types only: the browser never loads this file).

/** Where a camera is in its life (src/ingest). */
export type CameraState = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped';

/** One camera of GET /v1/cameras. */
export interface Camera {
  id: string;
  state: CameraState;
  reason: string | null;
  width: number | null;
  height: number | null;
  actors: string[];
}

/** One appearance of GET /v1/appearances, or one kept by the page from the event stream. */
export interface Appearance {
  camera: string;
  trackId: number;
  actor: string | null;
  confidence?: number;
  start: string;
  end: string | null;
}

/** The `appearance` event of /v1/events (the payload of P/<camera>/events). */
export interface AppearanceEvent {
  type: 'appeared' | 'identified' | 'left';
  camera: string;
  trackId: number;
  actor: string | null;
  confidence: number;
  at: string;
  bestConfidence?: number;
}

/** The `actors` event of /v1/events. */
export interface ActorsEvent {
  camera: string;
  actors: string[];
  at: string;
}

/** GET /v1/model. */
export interface ModelAnswer {
  version: string | null;
  actors: string[];
  loadedAt: string | null;
  source: string | null;
}

/** A version held in the store, or the starter offered beside them. */
export interface HeldVersion {
  version: string;
  running: boolean;
  installedAt?: string;
  builtIn?: boolean;
}

/** GET /v1/models (the parts the page shows). */
export interface ModelsAnswer {
  dir: string;
  layout: 'store' | 'bundle';
  running: { version: string; actors: string[]; loadedAt: string; source: string } | null;
  held: HeldVersion[];
  refusals: { version: string | null; code: string; reason: string; source: string; at: string }[];
  starter: { version: string; running: boolean } | null;
}

/** POST /v1/model/activate and /v1/model/reload. */
export interface ActivateAnswer {
  version: string | null;
  changed: boolean;
}

/** DELETE /v1/model/actors/:name. */
export interface RemoveAnswer {
  actor: string;
  version: string;
  previous: string;
}

/** One face of POST /v1/enroll/faces (or a camera's), to be ticked and named. */
export interface FoundFace {
  id: string;
  box: { x: number; y: number; width: number; height: number };
  thumbnail: string;
  actor: string | null;
  confidence: number;
}

/** POST /v1/enroll and /v1/unknowns/:id/enroll. */
export interface EnrollAnswer {
  actor: string;
  version: string;
  previous: string;
  faces: number;
  updated: boolean;
  nearest: { actor: string; score: number; alike: boolean } | null;
}

/** One group of GET /v1/unknowns. */
export interface UnknownGroup {
  id: string;
  faces: number;
  appearances: number;
  firstSeen: string;
  lastSeen: string;
  cameras: string[];
  thumbnails: string[];
}

/** GET /v1/unknowns. */
export interface UnknownsAnswer {
  windowSeconds: number;
  groups: UnknownGroup[];
}

/** One face of GET /v1/unknowns/:id/faces. */
export interface UnknownFace {
  id: string;
  /** A JPEG data URL; empty for a face seen a moment ago. */
  thumbnail: string;
  at: string;
  camera: string;
}

/** One camera of GET /v1/status. */
export interface CameraHealth {
  id: string;
  state: CameraState;
  reason: string | null;
  fpsConfigured: number;
  fpsIn: number;
  fpsProcessed: number;
  framesIn: number;
  framesProcessed: number;
  framesDropped: number;
  restarts: number;
  lastFrameAt: string | null;
  latencyMs: { mean: number; max: number } | null;
}

/** GET /v1/status. */
export interface StatusAnswer {
  ready: boolean;
  reasons: string[];
  uptimeSeconds: number;
  memory: { rssMiB: number; heapUsedMiB: number };
  model: { version: string } | null;
  mqtt: { url: string | null; connected: boolean; published: number; failed: number; dropped: number } | null;
  cameras: CameraHealth[];
}

/** A section of the page: shown and hidden as the URL's #hash changes. */
export interface View {
  show?(): void | Promise<void>;
  hide?(): void;
}
