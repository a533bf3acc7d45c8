// One typed event bus: the pipeline emits here, and MQTT, server-sent events and metrics listen.
import { EventEmitter } from 'node:events';
import type { Logger } from '../logger.js';

/** An appearance event as published (CONTRACTS.md: P/<camera>/events). */
export interface AppearanceEvent {
  type: 'appeared' | 'identified' | 'left';
  camera: string;
  trackId: number;
  actor: string | null;
  confidence: number;
  /** ISO 8601. */
  at: string;
  durationSeconds?: number;
  bestConfidence?: number;
  /** On `identified`: the name the track had before (null when it was unknown), so a renaming says so. */
  previous?: string | null;
  /** Date.now() when the frame behind the event arrived; for latency, not published. */
  frameReceivedAt?: number;
}

/** Who is on a camera now (CONTRACTS.md: P/<camera>/actors). */
export interface ActorsOnScreen {
  camera: string;
  actors: string[];
  at: string;
  /** Each actor's confidence, from the latest frame that named them. */
  confidences?: Record<string, number>;
  /** When each actor's appearance began (ISO 8601). */
  since?: Record<string, string>;
  /** Strangers on screen: announced faces that no actor's name fits. */
  unknown?: number;
  frameReceivedAt?: number;
}

/** The running model, after a swap (and once at start): P/model, retained. */
export interface ModelChanged {
  version: string | null;
  actors: string[];
  loadedAt: string | null;
  /** Where it came from, as GET /v1/model says: `starter` while the built-in starter model runs. */
  source?: string | null;
}

/** A bundle refused (checksum, load, embedder, disk…): the running model keeps serving. P/model/refused. */
export interface ModelRefused {
  /** The version the bundle claimed, when it could be read. */
  version: string | null;
  /** The version that keeps running. */
  running: string | null;
  /** Where the bundle came from: a folder, an S3 key, `activate`. */
  source: string;
  code: string;
  reason: string;
  /** ISO 8601. */
  at: string;
}

/** A camera taken out of the configuration (not one stopped with the daemon): its retained topics go. */
export interface CameraRemoved {
  camera: string;
}

export interface CameraStateChanged {
  camera: string;
  state: string;
  reason?: string;
}

/** Every event on the bus and its payload. */
export interface EventBusMap {
  appearance: AppearanceEvent;
  actors: ActorsOnScreen;
  model: ModelChanged;
  modelRefused: ModelRefused;
  cameraState: CameraStateChanged;
  cameraRemoved: CameraRemoved;
}

export type EventName = keyof EventBusMap;
type Listener<K extends EventName> = (payload: EventBusMap[K]) => void;

export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor(private readonly log: Logger) {
    // Every camera, the MQTT publisher and each SSE client listen; the default cap of 10 is too low.
    this.emitter.setMaxListeners(0);
  }

  /** Delivers to every listener; one that throws is logged and the others still run. */
  emit<K extends EventName>(name: K, payload: EventBusMap[K]): void {
    for (const listener of this.emitter.listeners(name) as Listener<K>[]) {
      try {
        listener(payload);
      } catch (err) {
        this.log.error({ err, event: name }, 'an event listener failed');
      }
    }
  }

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends EventName>(name: K, listener: Listener<K>): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }
}
