// Greengrass IPC against a fake nucleus speaking the wire protocol, with the real SDK client.
import { execFile } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Config } from '../src/config/schema.js';
import { isRecognizerError } from '../src/errors.js';
import { silentLogger } from '../src/logger.js';
import { ModelStore } from '../src/models/model-store.js';
import { EventBus } from '../src/events/event-bus.js';
import { GreengrassComponent, openGreengrass, type ConfigReport } from '../src/publish/greengrass-component.js';
import { ROOT } from './helpers/datasets.js';
import { FakeNucleus } from './helpers/fake-nucleus.js';

const log = silentLogger();

/** A model store's busy signal, flipped by the test. */
class FakeBusy extends EventEmitter {
  busy = false;
  set(busy: boolean): void {
    this.busy = busy;
    if (!busy) this.emit('idle');
  }
}

/** Records what the component asks the daemon to apply live. */
class FakeTarget {
  readonly calls: Array<{ next: Config; keys: readonly string[] }> = [];
  async apply(next: Config, keys: readonly string[]): Promise<string[]> {
    this.calls.push({ next, keys });
    return [];
  }
}

async function started(nucleus: FakeNucleus, env: Record<string, string> = {}) {
  const opened = await openGreengrass({ env: { ...nucleus.env(), ...env } });
  if (!opened) throw new Error('openGreengrass saw no nucleus variables');
  const component = new GreengrassComponent(opened.ipc, opened.start, log);
  const bus = new EventBus(log);
  const busy = new FakeBusy();
  const target = new FakeTarget();
  component.start({ bus, busy: [{ name: 'a model swap', signal: busy }], target });
  await component.ready();
  return { component, bus, busy, target };
}

const COMPONENT_CONFIG = {
  track: { minHits: 3, minConfidence: 0.4, absentSeconds: 2 },
  mqtt: { topicPrefix: 'gg-test' },
  cameras: [{ id: 'hall', url: '/dev/video0' }],
  accessControl: {
    'aws.greengrass.ipc.pubsub': {
      'com.example.ActorRecognizer:pubsub:1': { operations: ['aws.greengrass#PublishToTopic'], resources: ['actor-recognizer/*'] },
    },
  },
};

t.test('nothing of Greengrass is attempted without the nucleus variables', async (t) => {
  t.equal(await openGreengrass({ env: { SVCUID: 'only-the-token' } }), undefined, 'no socket variable: no Greengrass');
  // In a fresh process, so that no other test has loaded the SDK already.
  const script = `import { openGreengrass } from ${JSON.stringify(path.join(ROOT, 'dist/src/publish/greengrass-component.js'))};
    import { createRequire } from 'node:module';
    const result = await openGreengrass({ env: {} });
    const loaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('aws-iot-device-sdk-v2') || k.includes('aws-crt'));
    console.log(JSON.stringify({ result: result ?? null, loaded }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  t.same(JSON.parse(stdout), { result: null, loaded: false }, 'neither the SDK nor its native binding is loaded');
});

t.test('the component configuration is read and merged: defaults, file, component, environment', async (t) => {
  const nucleus = await FakeNucleus.start({ configuration: COMPONENT_CONFIG });
  t.teardown(() => nucleus.close());
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-gg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, 'api: { host: 0.0.0.0 }\ntrack: { minConfidence: 0.1 }\n');
  const opened = await openGreengrass({
    file,
    env: {
      ...nucleus.env(),
      ACTOR_RECOGNIZER_API_PORT: '9123',
      // recipe.yaml's Setenv copy of a top-level key: the same source, so it must not pin the value.
      ACTOR_RECOGNIZER_TRACK: JSON.stringify(COMPONENT_CONFIG.track),
    },
  });
  t.ok(opened, 'connected');
  const config = opened!.start.config;
  t.equal(config.api.host, '0.0.0.0', 'from the file');
  t.equal(config.track.minConfidence, 0.4, 'the component configuration overrides the file');
  t.equal(config.track.minHits, 3);
  t.equal(config.api.port, 9123, 'the environment overrides everything');
  t.equal(config.mqtt.topicPrefix, 'gg-test');
  t.same(
    config.cameras.map((c) => c.id),
    ['hall'],
  );
  t.equal(config.vision.backend, 'onnx', 'defaults fill the rest');
  t.equal(config.greengrass.localTopicPrefix, 'actor-recognizer', 'the greengrass section has defaults');
  t.notOk('ACTOR_RECOGNIZER_TRACK' in opened!.start.env, 'the Setenv copy is dropped for later updates');
  t.equal(opened!.start.env.ACTOR_RECOGNIZER_API_PORT, '9123', 'a real override stays');
  t.same(nucleus.operations, ['GetConfiguration']);
  await opened!.ipc.close();
});

t.test('a component configuration the schema refuses is a clear error, and the state ERRORED', async (t) => {
  const nucleus = await FakeNucleus.start({ configuration: { track: { minConfidence: 3 } } });
  t.teardown(() => nucleus.close());
  const err = await openGreengrass({ env: nucleus.env() }).catch((e: unknown) => e);
  t.ok(isRecognizerError(err, 'CONFIG_INVALID'), 'CONFIG_INVALID');
  t.match((err as Error).message, /\/track\/minConfidence: must be <= 1 \(got 3\), from the Greengrass component configuration/);
  t.same(nucleus.states, ['ERRORED']);
});

t.test('a wrong token is refused, and the token never reaches the message', async (t) => {
  const nucleus = await FakeNucleus.start({ token: 'the-right-token' });
  t.teardown(() => nucleus.close());
  const err = await openGreengrass({ env: nucleus.env('a-wrong-token-123') }).catch((e: unknown) => e);
  t.ok(isRecognizerError(err, 'GREENGRASS_IPC'), `GREENGRASS_IPC (got ${String(err)})`);
  t.match((err as Error).message, /refused or did not answer.*SVCUID/);
  t.notMatch((err as Error).message, /a-wrong-token-123|the-right-token/);
  t.equal(nucleus.refused, 1, 'the nucleus saw and refused one connection');
  t.same(nucleus.operations, [], 'no operation got through');
});

t.test('configuration updates: live keys applied, restart-only keys reported, a bad update refused', async (t) => {
  const nucleus = await FakeNucleus.start({ configuration: COMPONENT_CONFIG });
  t.teardown(() => nucleus.close());
  const { component, target } = await started(nucleus);
  t.teardown(() => component.stop());
  t.same(nucleus.states, ['RUNNING'], 'RUNNING once started');

  let report = once(component, 'report') as Promise<[ConfigReport]>;
  nucleus.updateConfiguration({
    track: { minConfidence: 0.7 },
    api: { port: 9999 },
    greengrass: { localTopicPrefix: 'room' },
    cameras: [{ id: 'porch', url: 'rtsp://user:pw@10.0.0.9/s' }],
  });
  let [r] = await report;
  t.same(r.applied.sort(), ['cameras', 'greengrass.localTopicPrefix', 'track.minConfidence']);
  t.same(r.restartRequired, ['api.port'], 'api.port needs a restart');
  t.equal(r.rejected, null);
  t.equal(target.calls.length, 1, 'one apply for the four change events of one deployment');
  t.equal(target.calls[0]?.next.track.minConfidence, 0.7);
  t.same(
    target.calls[0]?.next.cameras.map((c) => c.id),
    ['porch'],
  );
  t.equal(component.config.track.minConfidence, 0.7, 'the running configuration follows');
  const published = await nucleus.waitFor(() => nucleus.local.find((p) => p.topic === 'room/config'), 'the report on the new local topic');
  t.same((published.message as ConfigReport).restartRequired, ['api.port']);

  report = once(component, 'report') as Promise<[ConfigReport]>;
  nucleus.updateConfiguration({ vision: { minScore: 7 } });
  [r] = await report;
  t.match(r.rejected, /\/vision\/minScore: must be <= 0\.99/);
  t.equal(target.calls.length, 1, 'nothing applied from a refused configuration');
  t.equal(component.config.vision.minScore, 0.5, 'the running configuration stays');

  report = once(component, 'report') as Promise<[ConfigReport]>;
  nucleus.updateConfiguration({ api: { port: 8080 }, vision: { minScore: 0.6, detectorSide: 384 } });
  [r] = await report;
  t.same(r.restartRequired, [], 'api.port back to its start value: no restart needed any more');
  t.same(r.applied.sort(), ['vision.detectorSide', 'vision.minScore'], "the detector's side applies while running, as its score does");
});

t.test('events reach IoT Core and local pub/sub on their topics, as JSON with numeric scores', async (t) => {
  const nucleus = await FakeNucleus.start({ configuration: { greengrass: { iotCoreTopicPrefix: 'rooms/{thingName}', qos: 0 } } });
  t.teardown(() => nucleus.close());
  const { component, bus } = await started(nucleus);
  t.teardown(() => component.stop());
  bus.emit('appearance', {
    type: 'identified',
    camera: 'hall',
    trackId: 7,
    actor: 'Jane Doe',
    confidence: 0.873,
    at: '2025-01-01T00:00:00.000Z',
    frameReceivedAt: 1,
  });
  bus.emit('actors', { camera: 'hall', actors: ['Jane Doe'], at: '2025-01-01T00:00:00.000Z' });
  bus.emit('model', { version: 'v2', actors: ['Jane Doe'], loadedAt: '2025-01-01T00:00:00.000Z' });
  const events = await nucleus.waitFor(() => nucleus.iotCore.find((p) => p.topic === 'rooms/test-thing/hall/events'), 'the event on IoT Core');
  t.equal(events.qos, '0', 'the configured QoS');
  const payload = JSON.parse(events.payload) as Record<string, unknown>;
  t.same(
    payload,
    { type: 'identified', camera: 'hall', trackId: 7, actor: 'Jane Doe', confidence: 0.873, at: '2025-01-01T00:00:00.000Z' },
    'the contract fields only',
  );
  t.equal(typeof payload.confidence, 'number', 'the score is a number');
  await nucleus.waitFor(() => nucleus.iotCore.some((p) => p.topic === 'rooms/test-thing/model'), 'the model on IoT Core');
  const local = await nucleus.waitFor(() => nucleus.local.find((p) => p.topic === 'actor-recognizer/hall/events'), 'the event locally');
  t.equal((local.message as { confidence: unknown }).confidence, 0.873, 'a JSON message: the score stays a number');
  t.ok(nucleus.local.some((p) => p.topic === 'actor-recognizer/hall/actors'));
  t.ok(
    nucleus.iotCore.some((p) => p.topic === 'rooms/test-thing/status' && JSON.parse(p.payload).status === 'online'),
    'online once started',
  );
});

t.test('a burst beyond the queue is dropped and counted, never waited for', async (t) => {
  const nucleus = await FakeNucleus.start({ configuration: { greengrass: { queueSize: 2, publishToLocal: false } } });
  t.teardown(() => nucleus.close());
  const { component, bus } = await started(nucleus);
  t.teardown(() => component.stop());
  const stats = component.stats.publisher!;
  const before = stats.published;
  for (let i = 0; i < 50; i++)
    bus.emit('appearance', { type: 'appeared', camera: 'hall', trackId: i, actor: null, confidence: 0.5, at: new Date().toISOString() });
  t.ok(stats.queued <= 2, `the queue stays bounded (${stats.queued})`);
  t.ok(stats.dropped > 0, `drops counted (${stats.dropped})`);
  await nucleus.waitFor(() => stats.published - before + stats.dropped + stats.failed === 50, 'every event published or dropped');
  t.equal(stats.failed, 0);
});

t.test('an update is deferred while a model swap is in flight, then let through', async (t) => {
  const nucleus = await FakeNucleus.start({ configuration: { greengrass: { deferRecheckSeconds: 5 } } });
  t.teardown(() => nucleus.close());
  const { component, busy } = await started(nucleus);
  t.teardown(() => component.stop());
  busy.set(true);
  nucleus.announceUpdate('deployment-1');
  const deferred = await nucleus.waitFor(() => nucleus.deferrals[0], 'the deferral');
  t.same(deferred, { deploymentId: 'deployment-1', recheckAfterMs: 5000, message: 'deferred: a model swap in flight' });
  busy.set(false);
  const released = await nucleus.waitFor(() => nucleus.deferrals[1], 'the release');
  t.same({ id: released.deploymentId, ms: released.recheckAfterMs }, { id: 'deployment-1', ms: 0 }, 'recheckAfterMs 0 lets it proceed');
  nucleus.announceUpdate('deployment-2');
  const idle = await nucleus.waitFor(() => nucleus.deferrals[2], 'the answer when idle');
  t.same({ id: idle.deploymentId, ms: idle.recheckAfterMs }, { id: 'deployment-2', ms: 0 }, 'idle: proceeds at once');
  t.same(component.stats.updates, { deferred: 1, released: 2, lastDeploymentId: 'deployment-2' });
});

t.test('the model store says when a change is in flight, and when it is idle', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = new ModelStore(log, { dir, threads: 1, keep: 3, reserveBytes: 0 });
  t.notOk(store.busy, 'idle at first');
  const idle = once(store, 'idle');
  const outcome = store.activate('no-such-version');
  t.ok(store.busy, 'busy while the rollback is checked');
  await idle;
  t.notOk(store.busy, 'idle afterwards');
  t.equal((await outcome).ok, false);
});
