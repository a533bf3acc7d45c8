// Where the tests keep the faces they embed: a folder under the system's temporary directory, never the
// user's ~/.cache. Every test process of a run (and the CLIs and daemons they spawn, which inherit the
// environment) shares it, so a photo embedded by one test file is read back by the next instead of
// embedded again. The cache keys its entries by pipeline revision and photo content, so a warm folder
// from an earlier run is as good as a fresh one.
import os from 'node:os';
import path from 'node:path';

/** The face cache of the tests ($ACTOR_RECOGNIZER_CACHE when set, so a run can be pointed elsewhere). */
export const TEST_CACHE = (process.env.ACTOR_RECOGNIZER_CACHE ||= path.join(os.tmpdir(), 'actor-recognizer-tests', 'faces'));
