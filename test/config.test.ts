// Configuration: defaults, files, environment overrides, validation messages, freezing and redaction.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { isRecognizerError, type RecognizerError } from '../src/errors.js';
import { describeConfig, envKeys } from '../src/config/env.js';
import { loadConfig, type LoadConfigOptions } from '../src/config/load.js';
import { redactConfig, redactUrl } from '../src/config/schema.js';

/** The CONFIG_INVALID error that loading throws; fails the test if it throws anything else or nothing. */
function failure(options: LoadConfigOptions): RecognizerError {
  try {
    loadConfig(options);
  } catch (err) {
    if (isRecognizerError(err, 'CONFIG_INVALID')) return err;
    throw err;
  }
  throw new Error('expected loadConfig to throw CONFIG_INVALID');
}

/** Writes `text` to a fresh file named `name` and returns its path. */
function fileWith(tt: Test, name: string, text: string): string {
  const path = join(tt.testdir(), name);
  writeFileSync(path, text);
  return path;
}

const CONTRACT_YAML = `
api:    { host: 127.0.0.1, port: 8080 }
mqtt:   { url: mqtt://127.0.0.1:1883, topicPrefix: actor-recognizer }
model:  { dir: ./models/actors, s3: { uri: s3://bucket/prefix, endpoint: http://127.0.0.1:4569, pollSeconds: 30 } }
cameras:
  - { id: living-room, url: rtsp://user:pass@10.0.0.5/stream1, fps: 5 }
  - { id: capture-box, url: /dev/video0 }
  - { id: trailer, url: ./trailer.mp4 }
`;

t.test('defaults load with no file and an empty environment', async (t) => {
  const c = loadConfig({ env: {} });
  t.same(c.api, {
    host: '127.0.0.1',
    port: 8080,
    bodyLimitBytes: 20 * 1024 * 1024,
    allowedHosts: [],
    headersTimeoutSeconds: 10,
    requestTimeoutSeconds: 60,
    keepAliveTimeoutSeconds: 5,
    idleTimeoutSeconds: 60,
    jsonBodyLimitBytes: 1024 * 1024,
    maxConcurrentImages: 2,
    maxQueuedImages: 6,
    maxConnections: 256,
  });
  t.equal(c.api.apiKey, undefined);
  t.same(c.log, { level: 'info' });
  t.same(c.vision, {
    backend: 'onnx',
    detector: 'ssd',
    frameDetector: 'blazeface',
    minScore: 0.5,
    maxFaces: 20,
    maxPixels: 40_000_000,
    threads: 0,
    quantize: 'photos-and-second-look',
    detectorSide: 512,
    tileZoom: 2,
    embedder: 'mobilefacenet',
    decodeMaxSide: 2048,
  });
  t.same(c.model, { dir: './models/actors', starter: true, keep: 3, minFreeMiB: 64 });
  t.same(c.mqtt, {
    topicPrefix: 'actor-recognizer',
    port: 1883,
    host: '127.0.0.1',
    protocolVersion: 4,
    rejectUnauthorized: true,
    qos: 1,
    bufferSize: 1000,
    reconnectMaxSeconds: 5,
    homeAssistant: false,
    discoveryPrefix: 'homeassistant',
  });
  t.same(c.ingest, {
    ffmpegPath: 'ffmpeg',
    stallSeconds: 10,
    backoffInitialMs: 500,
    backoffMaxMs: 30_000,
    maxRestarts: 10,
    restartWindowSeconds: 300,
    failedRetrySeconds: 60,
  });
  t.same(c.track, {
    minHits: 2,
    minConfidence: 0,
    absentSeconds: 2,
    reidSeconds: 60,
    detectSeconds: 0.4,
    tileSeconds: 3,
    embedSeconds: 1.2,
    detectOnChange: 0,
  });
  t.same(c.unknowns, { keepSeconds: 3600, maxFaces: 2000, maxGroups: 100, minFaceWidth: 40, enrollFaces: 24 });
  t.same(c.cameras, []);
});

t.test('the YAML example of the contract loads, with defaults filled in', async (t) => {
  const c = loadConfig({ file: fileWith(t, 'config.yaml', CONTRACT_YAML), env: {} });
  t.equal(c.mqtt.url, 'mqtt://127.0.0.1:1883');
  t.same(c.model.s3, { uri: 's3://bucket/prefix', endpoint: 'http://127.0.0.1:4569', pollSeconds: 30, forcePathStyle: false });
  t.same(
    c.cameras.map((cam) => cam.id),
    ['living-room', 'capture-box', 'trailer'],
  );
  t.same(c.cameras[1], { id: 'capture-box', url: '/dev/video0', fps: 5, maxWidth: 1280, loop: false });
  t.equal(c.vision.minScore, 0.5, 'a section absent from the file takes its defaults');
});

t.test('a JSON file loads; an empty file means all defaults', async (t) => {
  const json = JSON.stringify({ api: { port: 9100, apiKey: 'abcdefgh12' }, vision: { detector: 'tiny', threads: 4 } });
  const c = loadConfig({ file: fileWith(t, 'config.json', json), env: {} });
  t.equal(c.api.port, 9100);
  t.equal(c.api.apiKey, 'abcdefgh12');
  t.equal(c.vision.detector, 'tiny');
  t.equal(c.vision.threads, 4);
  t.equal(c.api.host, '127.0.0.1');
  t.same(loadConfig({ file: fileWith(t, 'empty.yml', ''), env: {} }).cameras, []);
});

t.test('environment variables override the file, coerced to the schema type', async (t) => {
  const file = fileWith(t, 'config.yaml', 'vision: { minScore: 0.7 }\napi: { port: 8081 }\n');
  const c = loadConfig({
    file,
    env: {
      ACTOR_RECOGNIZER_API_PORT: '9000',
      ACTOR_RECOGNIZER_VISION_MIN_SCORE: '0.6',
      ACTOR_RECOGNIZER_MODEL_S3_URI: 's3://models/actors',
      ACTOR_RECOGNIZER_MODEL_S3_FORCE_PATH_STYLE: 'true',
      ACTOR_RECOGNIZER_LOG_LEVEL: 'debug',
      ACTOR_RECOGNIZER_MQTT_URL: '', // empty: unset, as compose files write it
      PATH: '/usr/bin', // other variables are none of our business
    },
  });
  t.equal(c.api.port, 9000);
  t.equal(c.vision.minScore, 0.6);
  t.same(c.model.s3, { uri: 's3://models/actors', forcePathStyle: true, pollSeconds: 30 });
  t.equal(c.log.level, 'debug');
  t.equal(c.mqtt.url, undefined);
});

t.test('the cameras array is overridden as JSON, and its entries get defaults', async (t) => {
  const file = fileWith(t, 'config.yaml', CONTRACT_YAML);
  const c = loadConfig({ file, env: { ACTOR_RECOGNIZER_CAMERAS: '[{"id":"a","url":"x.mp4","loop":true}]' } });
  t.same(c.cameras, [{ id: 'a', url: 'x.mp4', fps: 5, maxWidth: 1280, loop: true }]);
});

t.test('ACTOR_RECOGNIZER_CONFIG names the file when none is passed', async (t) => {
  const file = fileWith(t, 'config.yaml', 'api: { port: 7000 }\n');
  t.equal(loadConfig({ env: { ACTOR_RECOGNIZER_CONFIG: file } }).api.port, 7000);
  t.equal(loadConfig({ file: fileWith(t, 'other.yaml', 'api: { port: 7001 }\n'), env: { ACTOR_RECOGNIZER_CONFIG: file } }).api.port, 7001);
});

t.test('an unknown key in the file is rejected with its path and the file', async (t) => {
  const file = fileWith(t, 'config.yaml', 'api: { prot: 9000 }\nvision: { minScore: 0.6 }\ncolour: blue\n');
  const err = failure({ file, env: {} });
  t.match(
    err.message,
    `/api/prot: unknown key (expected one of: host, port, apiKey, bodyLimitBytes, allowedHosts, headersTimeoutSeconds, requestTimeoutSeconds, keepAliveTimeoutSeconds, idleTimeoutSeconds, jsonBodyLimitBytes, maxConcurrentImages, maxQueuedImages, maxConnections), from ${file}`,
  );
  t.match(err.message, '/colour: unknown key');
});

t.test('an out-of-bounds value is rejected with its path, bound and value', async (t) => {
  const file = fileWith(t, 'config.yaml', 'vision: { minScore: 3, maxFaces: 0 }\ncameras: [{ id: Bad, url: x }]\n');
  const err = failure({ file, env: {} });
  t.match(err.message, `/vision/minScore: must be <= 0.99 (got 3), from ${file}`);
  t.match(err.message, '/vision/maxFaces: must be >= 1 (got 0)', 'every failing path is named, not only the first');
  t.match(err.message, '/cameras/0/id: must match');
  t.notMatch(err.message, '\n', 'one line, for the CLI');
});

t.test('duplicate camera ids are rejected', async (t) => {
  const err = failure({ env: { ACTOR_RECOGNIZER_CAMERAS: '[{"id":"a","url":"x"},{"id":"a","url":"y"}]' } });
  t.match(err.message, '/cameras/1/id: duplicate id "a" (also /cameras/0/id), from ACTOR_RECOGNIZER_CAMERAS');
});

t.test('bad environment values are rejected, naming the variable', async (t) => {
  t.match(failure({ env: { ACTOR_RECOGNIZER_API_PORT: 'eighty' } }).message, '/api/port: must be a number (got "eighty"), from ACTOR_RECOGNIZER_API_PORT');
  t.match(failure({ env: { ACTOR_RECOGNIZER_API_PORT: '70000' } }).message, '/api/port: must be <= 65535 (got 70000), from ACTOR_RECOGNIZER_API_PORT');
  t.match(failure({ env: { ACTOR_RECOGNIZER_MODEL_S3_FORCE_PATH_STYLE: 'maybe' } }).message, 'ACTOR_RECOGNIZER_MODEL_S3_FORCE_PATH_STYLE');
  t.match(
    failure({ env: { ACTOR_RECOGNIZER_CAMERAS: '[{"id":' } }).message,
    '/cameras: must be a JSON array, and is not valid JSON, from ACTOR_RECOGNIZER_CAMERAS',
  );
  t.match(failure({ env: { ACTOR_RECOGNIZER_VISION_BACKEND: 'cuda' } }).message, '/vision/backend: must be one of onnx, tfjs (got "cuda")');
  t.match(
    failure({ env: { ACTOR_RECOGNIZER_API_PROT: '9000' } }).message,
    'ACTOR_RECOGNIZER_API_PROT: unknown variable (did you mean ACTOR_RECOGNIZER_API_PORT?)',
  );
});

t.test('a missing, unparseable or unsupported file is CONFIG_INVALID with its path', async (t) => {
  const missing = join(t.testdir(), 'nope.yaml');
  t.match(failure({ file: missing, env: {} }).message, `${missing}: cannot read the file (no such file)`);
  const broken = fileWith(t, 'broken.yaml', 'api: [1, 2\nport: 3\n');
  t.match(failure({ file: broken, env: {} }).message, `${broken}: cannot parse`);
  const notJson = fileWith(t, 'config.json', '{ "api": { "port": yes } }');
  t.match(failure({ file: notJson, env: {} }).message, `${notJson}: cannot parse`);
  const list = fileWith(t, 'list.yaml', '- 1\n- 2\n');
  t.match(failure({ file: list, env: {} }).message, `${list}: the top level must be a mapping`);
  const toml = fileWith(t, 'config.toml', 'a = 1');
  t.match(failure({ file: toml, env: {} }).message, 'unsupported extension ".toml"');
});

t.test('the result is deeply frozen', async (t) => {
  const c = loadConfig({ file: fileWith(t, 'config.yaml', CONTRACT_YAML), env: {} });
  t.ok(Object.isFrozen(c));
  t.ok(Object.isFrozen(c.api));
  t.ok(Object.isFrozen(c.cameras));
  t.ok(Object.isFrozen(c.cameras[0]));
  t.throws(() => {
    (c.api as { port: number }).port = 1;
  }, TypeError);
  t.equal(c.api.port, 8080);
});

t.test('redactUrl hides user:password and secret query parameters', async (t) => {
  t.equal(redactUrl('rtsp://user:pass@10.0.0.5/stream1'), 'rtsp://***@10.0.0.5/stream1');
  t.equal(redactUrl('rtsp://admin:p@ss/w0rd@10.0.0.5:554/s'), 'rtsp://***@10.0.0.5:554/s', 'unescaped @ and / in a password');
  t.equal(redactUrl('rtmp://cam/bcs/main.bcs?channel=0&user=admin&password=hunter2'), 'rtmp://cam/bcs/main.bcs?channel=0&user=admin&password=***');
  t.equal(redactUrl('-i rtsp://u:p@h/x -f rawvideo'), '-i rtsp://***@h/x -f rawvideo', 'works inside a command line');
  t.equal(redactUrl('rtsp://10.0.0.5/stream1'), 'rtsp://10.0.0.5/stream1');
  t.equal(redactUrl('./trailer.mp4'), './trailer.mp4');
});

t.test('redactConfig returns a copy safe to log', async (t) => {
  const c = loadConfig({
    file: fileWith(t, 'config.yaml', CONTRACT_YAML),
    env: { ACTOR_RECOGNIZER_API_API_KEY: 'topsecret-key', ACTOR_RECOGNIZER_MQTT_URL: 'mqtts://bob:hunter22@broker:8883' },
  });
  const r = redactConfig(c);
  t.equal(r.api.apiKey, '[redacted]');
  t.equal(r.mqtt.url, 'mqtts://***@broker:8883');
  t.equal(r.cameras[0]?.url, 'rtsp://***@10.0.0.5/stream1');
  t.equal(r.cameras[2]?.url, './trailer.mp4');
  t.equal(c.api.apiKey, 'topsecret-key', 'the original is untouched');
  t.notMatch(JSON.stringify(r), /topsecret|hunter22|user:pass/);
  t.equal(redactConfig(loadConfig({ env: {} })).api.apiKey, undefined, 'an unset key stays unset');
});

t.test('secret values never appear in error messages', async (t) => {
  const secret = 'hunter22';
  const messages = [
    failure({ env: { ACTOR_RECOGNIZER_API_API_KEY: 'hunt22' } }).message, // too short
    failure({ env: { ACTOR_RECOGNIZER_MQTT_URL: `http://bob:${secret}@broker` } }).message, // wrong scheme
    failure({ env: { ACTOR_RECOGNIZER_CAMERAS: `[{"id":"a","url":"rtsp://u:${secret}@h/s"` } }).message, // bad JSON
    failure({ env: { ACTOR_RECOGNIZER_CAMERAS: `["rtsp://u:${secret}@h/s"]` } }).message, // a string, not an entry
    failure({ file: fileWith(t, 'a.yaml', `api:\n  apiKey: ${secret}\n  port: [1\nx: "${secret}"\n`), env: {} }).message,
    failure({ file: fileWith(t, 'b.json', `{"api": {"apiKey": "${secret}", "port": ${secret}}}`), env: {} }).message,
    failure({ file: fileWith(t, 'c.yaml', `cameras: [{ id: a, url: 'rtsp://u:${secret}@h/s', fps: 99 }]\n`), env: {} }).message,
  ];
  for (const message of messages) t.notMatch(message, secret, message);
  t.match(messages[0], '/api/apiKey: must be at least 8 characters long, from ACTOR_RECOGNIZER_API_API_KEY');
  t.match(messages[1], '/mqtt/url: must match');
  t.match(messages[3], '/cameras/0: must be a mapping of keys (got "rtsp://***@h/s")');
  t.match(messages[6], '/cameras/0/fps: must be <= 30 (got 99)');
});

t.test('every schema path has a variable, listed by describeConfig', async (t) => {
  const names = [...envKeys().keys()];
  for (const name of [
    'ACTOR_RECOGNIZER_API_PORT',
    'ACTOR_RECOGNIZER_API_BODY_LIMIT_BYTES',
    'ACTOR_RECOGNIZER_VISION_MIN_SCORE',
    'ACTOR_RECOGNIZER_MODEL_S3_URI',
    'ACTOR_RECOGNIZER_CAMERAS',
  ]) {
    t.ok(names.includes(name), name);
  }
  t.match(describeConfig(), /ACTOR_RECOGNIZER_VISION_MIN_SCORE {2}\[number, 0\.05\.\.0\.99, default 0\.5\]/);
});

t.test('units and names keep their capitals together in variable names; the old split spellings still work', async (t) => {
  const names = [...envKeys().keys()];
  t.ok(names.includes('ACTOR_RECOGNIZER_MODEL_MIN_FREE_MIB'), 'MiB is one word');
  t.ok(names.includes('ACTOR_RECOGNIZER_GREENGRASS_PUBLISH_TO_IOT_CORE'), 'IoT is one word');
  t.notOk(
    names.some((n) => n.endsWith('_MI_B') || n.includes('IO_T')),
    'no name splits a unit or IoT',
  );
  t.equal(loadConfig({ env: { ACTOR_RECOGNIZER_MODEL_MIN_FREE_MIB: '128' } }).model.minFreeMiB, 128);
  t.equal(loadConfig({ env: { ACTOR_RECOGNIZER_MODEL_MIN_FREE_MI_B: '256' } }).model.minFreeMiB, 256, 'the old name is an alias');
  t.equal(loadConfig({ env: { ACTOR_RECOGNIZER_GREENGRASS_PUBLISH_TO_IO_TCORE: 'false' } }).greengrass.publishToIoTCore, false, 'the old name is an alias');
});
