// Footage end to end: actors enrolled from stills, named in the Avengers corridor through scan's path (the
// Hera Pheri scene: test/slow/footage-hera-pheri.test.ts), and the live camera path answering as `scan` does. In
// `npm run test:slow` (CI runs it): the scene analysed twice, with tiles, is a minute and a half of CPU.
import t from 'tap';
import { loadConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/logger.js';
import type { AppearanceEvent } from '../../src/events/event-bus.js';
import { cliJson } from '../helpers/cli.js';
import { datasetsMissing } from '../helpers/datasets.js';
import { until } from '../helpers/ingest.js';
import { video, videosMissing } from '../helpers/videos.js';
import { fixture, stillsModel, type FootageJson } from '../helpers/footage.js';

const missing = datasetsMissing() ?? videosMissing();
const AVENGERS = ['Chris Evans', 'Chris Hemsworth', 'Robert Downey Jr'];

t.test('eval --footage: every shot of the Avengers corridor, nobody misnamed', { skip: missing }, async (t) => {
  const model = await stillsModel();
  const avengers = await cliJson<FootageJson>([
    'eval',
    '--model',
    model,
    '--footage',
    fixture('avengers-corridor.json'),
    '--video',
    video('avengers-corridor.mp4'),
  ]);
  t.equal(avengers.shots, 4, 'the four shots of the labels');
  t.equal(avengers.model.embedder, 'mobilefacenet', 'the default embedder, said in the report');
  t.ok(avengers.precision >= 0.95, `avengers precision ${avengers.precision}`);
  t.ok(avengers.recall >= 0.9, `avengers recall ${avengers.recall}`);
  const big = avengers.faces['>=60']!;
  t.ok(big.faces >= 20 && big.detected >= 0.95 && big.namedByTrack >= 0.9, `faces of 60 px or more: ${JSON.stringify(big)}`);
});

t.test('a live file camera and scan name the same actors in the same file', { skip: missing }, async (t) => {
  const model = await stillsModel();
  const fps = 2;
  const scanned = await cliJson<{ appearances: { actor: string | null }[] }>(['scan', '--model', model, video('avengers-corridor.mp4'), '--fps', String(fps)]);
  const byScan = [...new Set(scanned.appearances.map((a) => a.actor).filter((a) => a !== null))].sort();
  t.same(byScan, AVENGERS, 'scan names the three of them');

  const config = loadConfig({
    env: {
      ACTOR_RECOGNIZER_API_PORT: '0',
      ACTOR_RECOGNIZER_MODEL_DIR: model,
      ACTOR_RECOGNIZER_MQTT_PORT: '0',
      ACTOR_RECOGNIZER_CAMERAS: JSON.stringify([{ id: 'corridor', url: video('avengers-corridor.mp4'), fps, maxWidth: 1280 }]),
    },
  });
  const daemon = new Daemon(config, silentLogger());
  t.teardown(() => daemon.stop());
  const events: AppearanceEvent[] = [];
  await daemon.start();
  daemon.liveVideo!.bus.on('appearance', (e) => events.push(e));
  // One play of the 15-second file, in real time.
  await until(() => (daemon.liveVideo!.cameras()[0]?.status().framesProcessed ?? 0) >= 15 * fps * 0.8, 60_000);
  await new Promise((r) => setTimeout(r, 2000));
  await daemon.stop();
  const live = [...new Set(events.map((e) => e.actor).filter((a) => a !== null))].sort();
  t.same(live, byScan, `live named ${live.join(', ') || 'nobody'}`);
});
