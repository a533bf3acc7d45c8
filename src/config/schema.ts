// The configuration schema: the one place that defines every key, its default, bounds and meaning.
import { Type, type Static, type TLiteral, type TSchema, type TUnion } from '@sinclair/typebox';
import { DEFAULT_EMBEDDER, EMBEDDER_IDS } from '../vision/embedder.js';

/**
 * Marks a field whose value must never reach a log line or an error message. `value`: the whole
 * value is secret (an API key); `url`: a URL that may carry user:password or a token.
 */
export type SecretKind = 'value' | 'url';

/** The JSON Schema annotation that carries a {@link SecretKind}. */
export const SECRET = 'x-secret';

const secret = (kind: SecretKind) => ({ [SECRET]: kind });

/** One literal string union, since TypeBox has no `enum` keyword of its own. */
function oneOf<const T extends readonly string[]>(values: T, options: { default: T[number]; description: string }): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    options,
  ) as TUnion<TLiteral<T[number]>[]>;
}

/** A topic prefix: no MQTT wildcards, no whitespace, no leading or trailing slash. */
const TOPIC_PREFIX = '^[^#+/\\s]([^#+\\s]*[^#+/\\s])?$';

const KiB = 1024;
const MiB = 1024 * KiB;

const ApiSchema = Type.Object(
  {
    host: Type.String({
      default: '127.0.0.1',
      minLength: 1,
      maxLength: 253,
      description: 'Address the REST API listens on; 0.0.0.0 or :: to listen on every interface.',
    }),
    port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'TCP port of the REST API; 0 picks a free port.' }),
    apiKey: Type.Optional(
      Type.String({
        minLength: 8,
        maxLength: 1024,
        ...secret('value'),
        description: 'When set, every route except /healthz and /readyz needs it (header x-api-key or Authorization: Bearer).',
      }),
    ),
    bodyLimitBytes: Type.Integer({
      default: 20 * MiB,
      minimum: KiB,
      maximum: 200 * MiB,
      description: 'Largest request body accepted, in bytes; a larger upload is answered 413.',
    }),
    allowedHosts: Type.Array(Type.String({ minLength: 1, maxLength: 253, pattern: '^(\\*|\\.?[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*)$' }), {
      default: [],
      maxItems: 64,
      description:
        'Host names the API answers to (the Host header), besides IP addresses, localhost and this machine\'s own name (and NAME.local): a guard against DNS rebinding. A leading dot takes subdomains too; "*" answers any name.',
    }),
    headersTimeoutSeconds: Type.Number({
      default: 10,
      minimum: 1,
      maximum: 600,
      description: "A client's request headers must arrive within this long, or the connection is closed (slow-loris).",
    }),
    requestTimeoutSeconds: Type.Number({
      default: 60,
      minimum: 1,
      maximum: 3600,
      description: 'The whole request, body included, must arrive within this long, or the connection is closed with 408.',
    }),
    keepAliveTimeoutSeconds: Type.Number({ default: 5, minimum: 1, maximum: 600, description: 'An idle kept-alive connection is closed after this long.' }),
    idleTimeoutSeconds: Type.Number({
      default: 60,
      minimum: 30,
      maximum: 3600,
      description:
        'A connection that sends and receives nothing for this long is closed (longer than the 25 s a frame.jpg request may wait, and the 15 s event-stream heartbeat).',
    }),
    jsonBodyLimitBytes: Type.Integer({
      default: MiB,
      minimum: KiB,
      maximum: 20 * MiB,
      description: 'Largest JSON body, in bytes (JSON is parsed on the main thread; no route needs more than a few KiB); larger is answered 413.',
    }),
    maxConcurrentImages: Type.Integer({ default: 2, minimum: 1, maximum: 64, description: 'Image requests (recognize, enroll) decoded and analysed at once.' }),
    maxQueuedImages: Type.Integer({
      default: 6,
      minimum: 0,
      maximum: 1000,
      description: 'Image requests that may wait for a turn; more are answered 503 with Retry-After at once, so the cameras and /healthz stay responsive.',
    }),
    maxConnections: Type.Integer({
      default: 256,
      minimum: 8,
      maximum: 65_536,
      description: 'Open connections at most; more are closed at once (keeps descriptors for files, ffmpeg and MQTT).',
    }),
  },
  { default: {}, additionalProperties: false, description: 'The REST API.' },
);

const LogSchema = Type.Object(
  {
    level: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', description: 'Lowest pino level written.' }),
  },
  { default: {}, additionalProperties: false, description: 'Logging.' },
);

const VisionSchema = Type.Object(
  {
    backend: oneOf(['onnx', 'tfjs'], {
      default: 'onnx',
      description:
        "Inference backend: onnx (face-api's networks compiled to ONNX, run by onnxruntime; fast) or tfjs (face-api on TensorFlow.js WebAssembly; the reference).",
    }),
    detector: oneOf(['ssd', 'tiny'], { default: 'ssd', description: 'Face detector: ssd (accurate) or tiny (fast, misses small faces).' }),
    frameDetector: oneOf(['ssd', 'blazeface'], {
      default: 'blazeface',
      description:
        "What finds the faces of a video frame's whole-frame pass (cameras, scan; vision.backend onnx with the ssd detector): ssd, or blazeface (MediaPipe's BlazeFace for distant faces, seen at 256 px on the long side: about a fifth of the SSD's cost). The second look for small faces (vision.tileZoom) and photos stay the SSD's.",
    }),
    minScore: Type.Number({ default: 0.5, minimum: 0.05, maximum: 0.99, description: 'Lowest detector score for a face to be kept.' }),
    maxFaces: Type.Integer({ default: 20, minimum: 1, maximum: 100, description: 'Most faces kept per image, highest scores first.' }),
    decodeMaxSide: Type.Integer({
      default: 2048,
      minimum: 512,
      maximum: 16_384,
      description:
        "Uploaded images are decoded straight to at most this many pixels on the long side (JPEG and WebP shrink while decoding), so a large photo never sits in memory at full size; faces are still reported in the original's pixels. Faces smaller than about 150/decodeMaxSide of the image lose detail.",
    }),
    // The ceiling is sharp's own default limitInputPixels (0x3FFF squared).
    maxPixels: Type.Integer({
      default: 40_000_000,
      minimum: 10_000,
      maximum: 268_402_689,
      description: 'A decoded image with more pixels than this is refused (guards memory).',
    }),
    threads: Type.Integer({ default: 0, minimum: 0, maximum: 64, description: 'Intra-op threads for inference; 0 lets the backend decide.' }),
    quantize: oneOf(['none', 'second-look', 'photos-and-second-look', 'int8'], {
      default: 'photos-and-second-look',
      description:
        "Which detector passes run on the SSD quantised to int8 (int8 weights, uint8 activations calibrated on photos, onnxruntime QLinearConv; vision.backend onnx only; the tiny detector stays float). photos-and-second-look (default): every pass over a photo (REST requests, enrolment, training and evaluation photos) and the strips of a video frame's second look, which see its faces vision.tileZoom times as large as the whole-frame pass does; a video frame's whole-frame pass, which gives its tracks their evidence, stays float. Photos are named as well as with float (the pooled photo evaluation alike) in about half the detector's time; the faces and names found in the labelled film scenes are float's (docs/pipeline.md). second-look: only the strips int8, photos float. int8: every pass, 1.7-2.7 times as fast (by CPU), with boxes a few pixels off the float ones, which in video name some faces less often (one appearance fewer in each labelled film scene). none: float everywhere (the float SSD loaded, which the default with vision.frameDetector blazeface does not load). The embedder always stays float: int8 MobileFaceNet moved embeddings too far (cosine 0.96-0.99 with float) for too little speed. The tfjs backend has no int8: there second-look and photos-and-second-look change nothing and int8 is refused.",
    }),
    detectorSide: Type.Integer({
      default: 512,
      minimum: 256,
      maximum: 1024,
      description:
        "The long side, in pixels, at which the SSD detector (vision.backend onnx) sees a photo or a video frame in its whole-frame pass; the second look's strips (vision.tileZoom) scale with it. A pass costs about its pixels: at 384 the SSD takes 0.58 of 512's time and `scan` 0.72, and small faces are found less often (footage recall, mean over five sides around each: the stills model 1.00 and 0.93 on the two scenes at both, the starter on avengers 0.91 against 0.97; docs/benchmarks.md); larger finds smaller faces, slower. 512 is face-api's own size and what the models and figures of the docs were measured at. The tfjs backend and the Tiny detector keep their networks' fixed sizes.",
    }),
    tileZoom: Type.Number({
      default: 2,
      minimum: 0,
      maximum: 4,
      description:
        'Video frames (cameras, scan) get a second look for small faces: the detector sees the frame again this many times larger than in the whole-frame pass (2: faces twice as large; 640×360 is seen at 1024×576: a camera in three overlapping strips of 427×576, one a frame (no pass larger than the 512×512 square, which bounds the memory of the detector), scan in one pass on the int8 SSD, about 5 times the cost of the whole frame at 512×288; the Tiny detector and the tfjs backend use overlapping tiles instead, 6 for 640×360). 0 or 1: the whole frame only.',
    }),
    embedder: oneOf(EMBEDDER_IDS, {
      default: DEFAULT_EMBEDDER,
      description:
        "How a face becomes its embedding: mobilefacenet (a MobileFaceNet trained with an ArcFace loss, on the ArcFace 5-point 112 px chip placed by the 68 landmarks; the most accurate on small and blurred faces, and cheaper than face-api's), mobilefacenet-flip (averaged with its mirror image), face-api-68 (face-api's descriptor on dlib's chip placed by 68 landmarks), face-api-68-flip (the same averaged with its mirror image: a little more accurate, twice the cost), face-api-eyes (the chip placed by the eyes alone, as bundles made before embedders had names). A model bundle made with another embedder is refused.",
    }),
  },
  { default: {}, additionalProperties: false, description: 'Face detection and embedding.' },
);

const S3Schema = Type.Object(
  {
    uri: Type.String({ pattern: '^s3://[^/]+', maxLength: 2048, ...secret('url'), description: 'Where published bundles live: s3://BUCKET/PREFIX.' }),
    endpoint: Type.Optional(
      Type.String({ pattern: '^https?://', maxLength: 2048, ...secret('url'), description: 'S3-compatible endpoint (MinIO, s3rver); AWS when unset.' }),
    ),
    region: Type.Optional(Type.String({ pattern: '^[a-z0-9-]+$', maxLength: 64, description: 'AWS region; from the AWS environment when unset.' })),
    forcePathStyle: Type.Boolean({ default: false, description: 'Path-style addressing (bucket in the path), needed by most S3-compatible servers.' }),
    pollSeconds: Type.Integer({ default: 30, minimum: 1, maximum: 86_400, description: 'How often to look for a newer bundle, in seconds.' }),
  },
  { additionalProperties: false, description: 'Pick up new model bundles from S3.' },
);

const ModelSchema = Type.Object(
  {
    dir: Type.String({
      default: './models/actors',
      minLength: 1,
      maxLength: 4096,
      description: 'One bundle (a folder with manifest.json) or a store of bundles, one folder per version.',
    }),
    starter: Type.Boolean({
      default: true,
      description:
        'While model.dir is a store holding no bundle, run the starter model of well-known actors that ships in the package (models/starter); the first model trained or enrolled replaces it.',
    }),
    s3: Type.Optional(S3Schema),
    keep: Type.Integer({ default: 3, minimum: 1, maximum: 50, description: 'Versions kept in the store for rollback, the running one included.' }),
    minFreeMiB: Type.Integer({
      default: 64,
      minimum: 0,
      maximum: 1_048_576,
      description: 'Disk space, in MiB, that must stay free after downloading a bundle; a larger download is refused (MODEL_DISK_FULL).',
    }),
  },
  { default: {}, additionalProperties: false, description: 'The actor model.' },
);

const MqttSchema = Type.Object(
  {
    url: Type.Optional(
      Type.String({
        pattern: '^(mqtts?|wss?|tcp|ssl)://',
        maxLength: 2048,
        ...secret('url'),
        description: 'Broker to publish to; unset: run an embedded broker.',
      }),
    ),
    topicPrefix: Type.String({
      default: 'actor-recognizer',
      minLength: 1,
      maxLength: 200,
      pattern: TOPIC_PREFIX,
      description: 'First topic level of everything published; no wildcards, no leading or trailing slash.',
    }),
    port: Type.Integer({ default: 1883, minimum: 0, maximum: 65535, description: 'Port of the embedded broker (when url is unset); 0 picks a free port.' }),
    host: Type.String({ default: '127.0.0.1', minLength: 1, maxLength: 253, description: 'Address the embedded broker listens on (when url is unset).' }),
    protocolVersion: Type.Integer({
      default: 4,
      minimum: 4,
      maximum: 5,
      description: "MQTT protocol: 4 is MQTT 3.1.1 (what Greengrass's Moquette speaks), 5 is MQTT 5.",
    }),
    clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'MQTT client id; actor-recognizer-<random> when unset.' })),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Broker user name.' })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, ...secret('value'), description: 'Broker password.' })),
    caFile: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'PEM file of the CA that signed the broker certificate (mqtts://).' })),
    certFile: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'PEM client certificate for mutual TLS.' })),
    keyFile: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'PEM private key of certFile.' })),
    rejectUnauthorized: Type.Boolean({ default: true, description: 'Refuse a broker whose certificate does not verify; false only for testing.' }),
    qos: Type.Integer({ default: 1, minimum: 0, maximum: 1, description: 'QoS of everything published.' }),
    bufferSize: Type.Integer({
      default: 1000,
      minimum: 0,
      maximum: 100_000,
      description: 'Messages kept while the broker is away; beyond this the oldest are dropped and counted.',
    }),
    reconnectMaxSeconds: Type.Integer({
      default: 5,
      minimum: 1,
      maximum: 3600,
      description:
        'Longest wait between reconnection attempts (the wait doubles from 1 s up to this): after an outage the broker is probed this often, so the daemon is back within about this long of the broker (a probe is one TCP connect).',
    }),
    homeAssistant: Type.Boolean({
      default: false,
      description:
        'Announce each camera to Home Assistant by MQTT discovery: a sensor of who is on screen (one device for the daemon), available while P/status is online, removed when the camera goes.',
    }),
    discoveryPrefix: Type.String({
      default: 'homeassistant',
      minLength: 1,
      maxLength: 200,
      pattern: TOPIC_PREFIX,
      description: "Home Assistant's MQTT discovery prefix (set in its MQTT integration; homeassistant unless changed there).",
    }),
  },
  { default: {}, additionalProperties: false, description: 'MQTT publishing.' },
);

const CameraSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]*$', maxLength: 64, description: 'Stable name, used in topics and routes; unique.' }),
    url: Type.String({ minLength: 1, maxLength: 4096, ...secret('url'), description: 'Anything ffmpeg opens: rtsp://, a device like /dev/video0, or a file.' }),
    fps: Type.Number({ default: 5, minimum: 0.1, maximum: 30, description: 'Frames per second to analyse.' }),
    maxWidth: Type.Integer({ default: 1280, minimum: 160, maximum: 3840, description: 'Frames wider than this are scaled down first.' }),
    loop: Type.Boolean({ default: false, description: 'Restart a file source at its end (demos, tests).' }),
  },
  { additionalProperties: false, description: 'A video source.' },
);

const IngestSchema = Type.Object(
  {
    ffmpegPath: Type.String({ default: 'ffmpeg', minLength: 1, maxLength: 4096, description: 'The ffmpeg binary: a path, or a name looked up on the PATH.' }),
    stallSeconds: Type.Number({ default: 10, minimum: 1, maximum: 600, description: 'A camera that delivers no frame for this long is restarted.' }),
    backoffInitialMs: Type.Integer({
      default: 500,
      minimum: 10,
      maximum: 60_000,
      description: 'Wait before the first restart of ffmpeg; doubles with each failure in a row.',
    }),
    backoffMaxMs: Type.Integer({ default: 30_000, minimum: 100, maximum: 600_000, description: 'Longest wait between restarts.' }),
    maxRestarts: Type.Integer({
      default: 10,
      minimum: 1,
      maximum: 1000,
      description: 'More restarts than this within restartWindowSeconds mark the camera failed (still tried every failedRetrySeconds).',
    }),
    restartWindowSeconds: Type.Integer({ default: 300, minimum: 10, maximum: 86_400, description: 'The window over which restarts are counted.' }),
    failedRetrySeconds: Type.Integer({
      default: 60,
      minimum: 1,
      maximum: 3600,
      description: 'A failed camera is tried again this often, for ever; its first frame makes it running, with quick restarts again.',
    }),
  },
  { default: {}, additionalProperties: false, description: 'How camera streams are read and supervised.' },
);

const TrackSchema = Type.Object(
  {
    minHits: Type.Integer({ default: 2, minimum: 1, maximum: 50, description: 'Frames a face must be seen in before it counts as an appearance.' }),
    minConfidence: Type.Number({
      default: 0,
      minimum: 0,
      maximum: 1,
      description:
        "Lowest aggregate confidence of a track for it to be named, on top of the model's own track thresholds. 0 trusts the model; raise it where strangers are named (a model enrolled from few photos).",
    }),
    absentSeconds: Type.Number({ default: 2, minimum: 0.1, maximum: 600, description: 'A face absent this long has left; its track ends.' }),
    reidSeconds: Type.Number({
      default: 60,
      minimum: 0,
      maximum: 3600,
      description:
        "A face in a later shot whose own best actor falls short of the threshold is still named when it looks like that actor's face named within this many seconds (as closely as one person's faces look); 0: never.",
    }),
    detectSeconds: Type.Number({
      default: 0.4,
      minimum: 0,
      maximum: 10,
      description:
        "Within a shot, faces are detected on a frame this long (seconds of video) after the last detection, and on every shot's first frame; the frames between show the faces of the tracks carried on from the last detection. 0: every frame.",
    }),
    tileSeconds: Type.Number({
      default: 3,
      minimum: 0,
      maximum: 10,
      description:
        "Within a shot, the second look for small faces (vision.tileZoom) is taken this long (seconds) after the last one, and on every shot's first frame; between looks, a face only the second look finds is followed in its box on every detected frame (its landmarks and embedding, no detection), so its track goes on and gathers evidence. 0: every frame. A camera takes the look one strip a frame on consecutive frames, so that no frame waits for all of it, and one that falls behind its stream takes it only on a shot's first frame.",
    }),
    embedSeconds: Type.Number({
      default: 1.2,
      minimum: 0,
      maximum: 10,
      description:
        'Within a shot, a face at least 64 px high whose track is announced and already has 3 embedded faces is embedded again only this long (seconds) after its last embedding: a detection between that finds it where it was (its box overlapping by half at about its size, nothing else near) just moves its track, without landmarks or an embedding, which cost more than the detection; its track keeps its name and confidence. Smaller faces, faces that moved or met another, and new ones are embedded at every detection. 0: every detection embeds every face.',
    }),
    detectOnChange: Type.Number({
      default: 0,
      minimum: 0,
      maximum: 255,
      description:
        'A frame that has changed this much since the last detection (mean difference of grey thumbnails, 0–255, summed frame to frame) is detected before detectSeconds have passed; 0: never early.',
    }),
  },
  { default: {}, additionalProperties: false, description: 'Following faces across frames.' },
);

const UnknownsSchema = Type.Object(
  {
    keepSeconds: Type.Integer({
      default: 3600,
      minimum: 10,
      maximum: 86_400,
      description:
        'Faces of strangers are kept this long, grouped one group a person, for naming on the page or by POST /v1/unknowns/:id/enroll; older faces are forgotten.',
    }),
    maxFaces: Type.Integer({
      default: 2000,
      minimum: 1,
      maximum: 100_000,
      description: 'Faces of strangers kept at most; beyond this the group seen least recently loses its oldest faces first.',
    }),
    maxGroups: Type.Integer({
      default: 100,
      minimum: 1,
      maximum: 10_000,
      description: 'Groups of strangers (people) kept at most; beyond this the group seen least recently is forgotten.',
    }),
    minFaceWidth: Type.Integer({
      default: 40,
      minimum: 0,
      maximum: 4096,
      description: 'Faces narrower than this, in pixels, are not kept: their descriptors are unreliable and too poor to enroll from.',
    }),
    enrollFaces: Type.Integer({
      default: 24,
      minimum: 1,
      maximum: 200,
      description:
        'Faces of a group enrolled when it is named: a sample of its sharpest and most varied, shown on the page to untick any that is not the person.',
    }),
  },
  { default: {}, additionalProperties: false, description: 'Strangers seen recently, kept so that they can be named (enrolled) on the device.' },
);

const GreengrassSchema = Type.Object(
  {
    iotCoreTopicPrefix: Type.String({
      default: 'actor-recognizer/{thingName}',
      minLength: 1,
      maxLength: 200,
      pattern: TOPIC_PREFIX,
      description: "First topic levels of what goes to AWS IoT Core; {thingName} becomes the core device's thing name.",
    }),
    localTopicPrefix: Type.String({
      default: 'actor-recognizer',
      minLength: 1,
      maxLength: 200,
      pattern: TOPIC_PREFIX,
      description: 'First topic levels of what goes to local publish/subscribe, for other components on the device.',
    }),
    publishToIoTCore: Type.Boolean({ default: true, description: 'Publish events, actors on screen and the model to AWS IoT Core.' }),
    publishToLocal: Type.Boolean({ default: true, description: 'Publish the same to local publish/subscribe.' }),
    qos: Type.Integer({ default: 1, minimum: 0, maximum: 1, description: 'QoS of what goes to AWS IoT Core.' }),
    queueSize: Type.Integer({
      default: 500,
      minimum: 1,
      maximum: 100_000,
      description: 'Messages waiting for the nucleus; beyond this the oldest are dropped and counted, so the pipeline never waits.',
    }),
    deferRecheckSeconds: Type.Integer({
      default: 30,
      minimum: 1,
      maximum: 3600,
      description: 'While a model swap is in flight, an over-the-air update is deferred and the nucleus asks again after this long.',
    }),
    maxDeferSeconds: Type.Integer({
      default: 900,
      minimum: 0,
      maximum: 86_400,
      description: 'An update is never deferred for longer than this in total (0: never deferred), so a stuck swap cannot block deployments.',
    }),
  },
  { default: {}, additionalProperties: false, description: 'AWS IoT Greengrass IPC, used only when the daemon runs as a Greengrass component.' },
);

/** The whole daemon configuration. Every key has a default, a description and bounds. */
export const ConfigSchema = Type.Object(
  {
    api: ApiSchema,
    log: LogSchema,
    vision: VisionSchema,
    model: ModelSchema,
    mqtt: MqttSchema,
    ingest: IngestSchema,
    track: TrackSchema,
    unknowns: UnknownsSchema,
    greengrass: GreengrassSchema,
    cameras: Type.Array(CameraSchema, { default: [], maxItems: 64, description: 'Video sources to watch; ids must be unique.' }),
  },
  { default: {}, additionalProperties: false, description: 'actor-recognizer configuration.' },
);

/** The validated configuration, derived from {@link ConfigSchema}. */
export type Config = Static<typeof ConfigSchema>;

/** One camera entry of {@link Config}. */
export type CameraConfig = Config['cameras'][number];

// Greedy to the last '@' of the token, since people write passwords with unescaped '@' and '/'.
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)\S*@/gi;
const SECRET_PARAM = /([?&;][^=&#\s]*(?:pass|pwd|token|secret|key|signature|credential|auth)[^=&#\s]*=)[^&#\s]*/gi;

/**
 * Hides credentials in a URL, or in any text holding URLs (an ffmpeg command line):
 * `rtsp://user:pass@host/x` becomes `rtsp://***@host/x`, and `?password=…` becomes `?password=***`.
 */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, '$1***@').replace(SECRET_PARAM, '$1***');
}

/** The {@link SecretKind} of a schema node, if it has one. */
export function secretKind(schema: TSchema): SecretKind | undefined {
  const kind: unknown = (schema as Record<string, unknown>)[SECRET];
  return kind === 'value' || kind === 'url' ? kind : undefined;
}

function redactNode(schema: TSchema, value: unknown): unknown {
  const kind = secretKind(schema);
  if (kind === 'value' && value !== undefined) return '[redacted]';
  if (kind === 'url' && typeof value === 'string') return redactUrl(value);
  if (Array.isArray(value) && schema.type === 'array') return value.map((item) => redactNode(schema.items as TSchema, item));
  if (value !== null && typeof value === 'object' && schema.type === 'object') {
    const properties = schema.properties as Record<string, TSchema>;
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      const sub = properties[key];
      out[key] = sub ? redactNode(sub, inner) : inner;
    }
    return out;
  }
  return value;
}

/**
 * A copy of the configuration that is safe to log: `api.apiKey` becomes "[redacted]" and URLs that
 * may carry credentials (cameras, MQTT, S3) go through {@link redactUrl}.
 */
export function redactConfig(config: Config): Config {
  return redactNode(ConfigSchema, config) as Config;
}
