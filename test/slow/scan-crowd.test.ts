// `scan` of a crowd of strangers: appearances, and nobody named with the default settings. In `npm run
// test:slow` (CI runs it): half a minute of scanning a busy clip.
import t from 'tap';
import { cliJson } from '../helpers/cli.js';
import { aocModel, video, videosMissing } from '../helpers/videos.js';

const missing = videosMissing();
// The default settings, as a user runs scan.
const env = {};

t.test('a crowd of strangers yields appearances but no actor name', { skip: missing }, async (t) => {
  const model = await aocModel();
  const result = await cliJson<{ appearances: { actor: string | null }[] }>(['scan', '--model', model, video('crowd-unknown-people.mp4'), '--fps', '2'], env);
  t.ok(result.appearances.length >= 3, `${result.appearances.length} appearances`);
  t.same(
    result.appearances.filter((a) => a.actor !== null),
    [],
    'nobody named',
  );
});
