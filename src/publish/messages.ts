// What the bus's events become on MQTT and Greengrass alike: topic levels under a prefix and a payload.
import type { EventBus, EventBusMap } from '../events/event-bus.js';

/** One message for an output: MQTT joins the levels under mqtt.topicPrefix, Greengrass under its own prefixes. */
export interface Message {
  /** Topic levels below the prefix: `[camera, 'events']`, `['model']`, … */
  levels: string[];
  payload: Record<string, unknown>;
  /** State, where only the latest counts (retained on MQTT, not buffered while away), rather than an event. */
  retain: boolean;
  /** Date.now() when the frame behind it arrived: for the frame-to-publish latency, never published. */
  frameReceivedAt?: number;
}

/** The events that are published, and how each is shaped (CONTRACTS.md: the P/… topics). */
const MAPPING = {
  appearance: ({ frameReceivedAt, ...event }) => ({ levels: [event.camera, 'events'], payload: { ...event }, retain: false, frameReceivedAt }),
  // The camera is in the topic; the latency bookkeeping stays here.
  actors: ({ frameReceivedAt, camera, ...payload }) => ({ levels: [camera, 'actors'], payload, retain: true, frameReceivedAt }),
  cameraState: (c) => ({
    levels: [c.camera, 'state'],
    payload: { camera: c.camera, state: c.state, ...(c.reason ? { reason: c.reason } : {}), at: new Date().toISOString() },
    retain: true,
  }),
  model: (m) => ({ levels: ['model'], payload: { ...m }, retain: true }),
  modelRefused: (r) => ({ levels: ['model', 'refused'], payload: { ...r }, retain: false }),
} satisfies { [K in keyof EventBusMap]?: (payload: EventBusMap[K]) => Message };

export type PublishedEvent = keyof typeof MAPPING;

/** The message an event becomes. */
export function messageOf<K extends PublishedEvent>(name: K, payload: EventBusMap[K]): Message {
  return (MAPPING[name] as (p: EventBusMap[K]) => Message)(payload);
}

/**
 * Subscribes `listener` to every published event, with the message each becomes (and the event, for
 * an output that keeps state of its own). Returns the functions that unsubscribe.
 */
export function onMessages(
  bus: Pick<EventBus, 'on'>,
  listener: <K extends PublishedEvent>(message: Message, name: K, payload: EventBusMap[K]) => void,
): (() => void)[] {
  return (Object.keys(MAPPING) as PublishedEvent[]).map(<K extends PublishedEvent>(name: K) =>
    bus.on(name, (payload: EventBusMap[K]) => listener(messageOf(name, payload), name, payload)),
  );
}
