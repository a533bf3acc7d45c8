// Home Assistant MQTT discovery: one device for the daemon, and per camera a sensor of who is on screen.

/** Settings the discovery messages are made from. */
export interface DiscoveryOptions {
  /** Home Assistant's discovery prefix (`mqtt.discoveryPrefix`). */
  discoveryPrefix: string;
  /** `mqtt.topicPrefix`: the daemon's own topics, and its identity towards Home Assistant. */
  topicPrefix: string;
  /** The daemon's version, shown on the device. */
  version: string;
}

/** Object ids end so: what is left of an id is the camera's. */
const SENSOR = '_on_screen';

/** Home Assistant takes [a-zA-Z0-9_-] in a node or object id (a topic prefix may hold slashes). */
function topicId(text: string): string {
  return text.replace(/[^a-zA-Z0-9_-]+/g, '_');
}

/**
 * The discovery messages of https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery, as
 * documented for an MQTT sensor (https://www.home-assistant.io/integrations/sensor.mqtt/). Ids come
 * from the topic prefix and the camera id, never from anything random, so that they are the same
 * after a restart and Home Assistant keeps its entities, their names and their history.
 */
export class HomeAssistantDiscovery {
  private readonly options: DiscoveryOptions;
  /** The node id: one per daemon, as the topic prefix is. */
  readonly node: string;

  constructor(options: DiscoveryOptions) {
    this.options = options;
    this.node = topicId(options.topicPrefix);
  }

  /** `<prefix>/sensor/<node>/<camera>_on_screen/config`. */
  configTopic(camera: string): string {
    return `${this.options.discoveryPrefix}/sensor/${this.node}/${topicId(camera)}${SENSOR}/config`;
  }

  /** Every sensor config of this daemon, to find retained ones of cameras that went while it was down. */
  get configFilter(): string {
    return `${this.options.discoveryPrefix}/sensor/${this.node}/+/config`;
  }

  /** Where Home Assistant says it (re)started: discovery is sent again on its `online`. */
  get birthTopic(): string {
    return `${this.options.discoveryPrefix}/status`;
  }

  /** The camera whose sensor config `topic` is, if it is one of ours. */
  cameraOf(topic: string): string | undefined {
    const prefix = `${this.options.discoveryPrefix}/sensor/${this.node}/`;
    if (!topic.startsWith(prefix) || !topic.endsWith(`${SENSOR}/config`)) return undefined;
    return topic.slice(prefix.length, -`${SENSOR}/config`.length);
  }

  /**
   * A camera's sensor: its state is the names on screen (`nobody` when none; at most 255 characters,
   * Home Assistant's limit), its attributes the whole P/<camera>/actors payload (`actors`,
   * `confidences`, `since`, `unknown`, `at`), available while P/status says online.
   */
  sensor(camera: string): Record<string, unknown> {
    const { topicPrefix, version } = this.options;
    const state = `${topicPrefix}/${camera}/actors`;
    return {
      name: `${camera} on screen`,
      unique_id: `${this.node}_${topicId(camera)}${SENSOR}`,
      state_topic: state,
      value_template: "{{ ((value_json.actors | join(', ')) or 'nobody')[:255] }}",
      json_attributes_topic: state,
      availability: [{ topic: `${topicPrefix}/status`, payload_available: 'online', payload_not_available: 'offline' }],
      icon: 'mdi:account-eye',
      qos: 1,
      device: {
        identifiers: [`actor-recognizer_${this.node}`],
        name: topicPrefix === 'actor-recognizer' ? 'Actor recognizer' : `Actor recognizer ${topicPrefix}`,
        manufacturer: 'actor-recognizer',
        model: 'actor-recognizer daemon',
        sw_version: version,
      },
      origin: { name: 'actor-recognizer', sw_version: version },
    };
  }
}
