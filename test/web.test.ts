// The web page in headless Chromium: the live camera, the API key, enrollment, unknown faces, rollback.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Page } from 'playwright-core';
import { faces } from './helpers/datasets.js';
import { facesOf, photosOf } from './helpers/embeddings.js';
import { AOC, aocModel, video, videosMissing } from './helpers/videos.js';
import { browserMissing, launchBrowser, startDaemon, storeWith } from './helpers/web.js';

const KEY = 'media-room-key-1';
const SHOTS = process.env.WEB_SHOTS ?? '/tmp/web-shots';
const LONG = 180_000;

/** The section's link, pressed from the keyboard as a TV remote or a keyboard user would. */
async function open(page: Page, section: string): Promise<void> {
  await page.locator(`nav a[href="#${section}"]`).focus();
  await page.keyboard.press('Enter');
  await page.locator(`section#${section}`).waitFor({ state: 'visible' });
}

async function screenshots(page: Page, name: string, ready: Record<string, string>): Promise<void> {
  for (const [section, selector] of Object.entries(ready)) {
    await open(page, section);
    await page.locator(selector).first().waitFor({ state: 'visible', timeout: LONG });
    // Thumbnails and the snapshot are images: shoot once they have been decoded.
    await page.waitForFunction(() => [...document.images].every((i) => i.hidden || i.complete));
    await page.screenshot({ path: `${SHOTS}/${section}-${name}.png`, fullPage: false });
  }
}

t.test(
  'the page shows the camera and who is on it, enrolls from photos and from unknown faces, rolls back',
  { skip: browserMissing() ?? videosMissing() },
  async (t) => {
    const { dir, version: base } = await storeWith(await aocModel());
    const cameras = [
      { id: 'living-room', url: video('talking-head-aoc-b.mp4'), loop: true, fps: 5, maxWidth: 640 },
      { id: 'hallway', url: video('talking-head-katie-hill.mp4'), loop: true, fps: 5, maxWidth: 640 },
    ];
    // Enough versions kept that the one the daemon started with is still there to roll back to.
    const { daemon, base: url } = await startDaemon({
      ACTOR_RECOGNIZER_MODEL_DIR: dir,
      ACTOR_RECOGNIZER_MODEL_KEEP: '10',
      ACTOR_RECOGNIZER_CAMERAS: JSON.stringify(cameras),
      ACTOR_RECOGNIZER_API_API_KEY: KEY,
    });
    t.teardown(() => daemon.stop());
    const browser = await launchBrowser();
    t.teardown(() => browser.close());
    const withKey = { 'x-api-key': KEY };

    // The page holds no data and is served without the key; every data route still wants it.
    const index = await fetch(`${url}/`);
    t.equal(index.status, 200);
    t.match(index.headers.get('content-type'), /^text\/html/);
    t.match(index.headers.get('content-security-policy'), /default-src 'none'; script-src 'self'/);
    t.match(await index.text(), /<main id="main"/);
    t.match((await fetch(`${url}/ui/app.js`)).headers.get('content-type'), /^text\/javascript/);
    for (const route of ['/v1/cameras', '/v1/status', '/v1/unknowns', '/v1/appearances', '/v1/cameras/living-room/frame.jpg', '/ui/nothing.js'])
      t.equal((await fetch(`${url}${route}`)).status, 401, `${route} without the key: 401`);

    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${url}/`);

    // The page asks for the key; a wrong one is refused and asked for again.
    await page.locator('#key-dialog').waitFor({ state: 'visible' });
    await page.fill('#key-input', 'not-the-key');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /refused/.test(document.getElementById('key-error')!.textContent ?? ''));
    t.ok(await page.locator('#key-dialog').isVisible(), 'a wrong key: asked again, saying it was refused');
    await page.fill('#key-input', KEY);
    await page.keyboard.press('Enter');
    await page.locator('#key-dialog').waitFor({ state: 'hidden' });
    // The dialog hides at once, but its close event (which stores the key) comes in a task after: wait for it, then look.
    await page.waitForFunction((key) => localStorage.getItem('actor-recognizer.apiKey') === key, KEY).catch(() => undefined);
    t.equal(await page.evaluate(() => localStorage.getItem('actor-recognizer.apiKey')), KEY, 'the key is kept in localStorage');

    // Live: the camera, its latest frame (fetched with the key as a blob), and her name.
    const card = page.locator('article.camera[data-camera="living-room"]');
    await card.waitFor();
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-camera="living-room"] img.snapshot')?.naturalWidth ?? 0) > 0, null, {
      timeout: LONG,
    });
    t.match(await card.locator('img.snapshot').getAttribute('src'), /^blob:/, 'the snapshot is shown');
    await page.waitForFunction((name) => document.querySelector('[data-camera="living-room"]')!.textContent!.includes(name), AOC, { timeout: LONG });
    t.ok((await card.textContent())!.includes(AOC), `${AOC} is named on the living-room card`);
    t.equal(await card.locator('.onscreen').getAttribute('aria-live'), 'polite', 'who is on screen is announced politely');
    await page.waitForFunction((name) => [...document.querySelectorAll('[data-camera="living-room"] .lane-name')].some((l) => l.textContent === name), AOC, {
      timeout: LONG,
    });
    t.pass('her appearance is on the last hour timeline');
    // The next-frame route: answers with the newest frame, then waits for the one after it.
    const frameAfter = async (after: number) => {
      const res = await fetch(`${url}/v1/cameras/living-room/frame.jpg?after=${after}`, { headers: withKey });
      const bytes = Buffer.from(await res.arrayBuffer());
      return { status: res.status, frame: Number(res.headers.get('x-frame')), jpeg: bytes[0] === 0xff && bytes[1] === 0xd8 };
    };
    const first = await frameAfter(0);
    t.match(first, { status: 200, jpeg: true }, 'after=0: the latest frame at once');
    const next = await frameAfter(first.frame);
    t.ok(next.status === 200 && next.jpeg && next.frame > first.frame, `after=${first.frame}: the next frame (${next.frame}) once analysed`);
    t.match(await frameAfter(first.frame + 100_000), { status: 200, jpeg: true }, 'a client ahead of the count (a restarted daemon) gets the current frame');
    const frames = (await (await fetch(`${url}/v1/status`, { headers: withKey })).json()) as {
      cameras: { id: string; framesProcessed: number; latencyMs: { mean: number } | null }[];
    };
    const living = frames.cameras.find((c) => c.id === 'living-room')!;
    t.comment(`living-room: ${living.framesProcessed} frames analysed, latency ${living.latencyMs?.mean} ms`);

    // Enroll a person the model does not know, from photos, through the page.
    const person = 'Colin Powell';
    const photos = await photosOf(faces('lfw', person));
    const recognize = async (file: string) =>
      (
        (await (
          await fetch(`${url}/v1/recognize`, { method: 'POST', headers: { ...withKey, 'content-type': 'image/jpeg' }, body: await readFile(file) })
        ).json()) as { faces: { actor: string | null }[] }
      ).faces[0]?.actor;
    t.equal(await recognize(photos[8]!), null, `${person} is not known before`);
    await open(page, 'enroll');
    await page.setInputFiles('#enroll-photos', photos.slice(0, 4));
    await page.waitForFunction(() => document.querySelectorAll('#enroll-faces input:checked').length === 4, null, { timeout: LONG });
    t.equal(await page.locator('#enroll-faces img').count(), 4, 'four faces found, shown as thumbnails');
    await mkdir(SHOTS, { recursive: true });
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('#enroll-faces img')].every((i) => i.complete));
    await page.fill('#enroll-name', person);
    await page.screenshot({ path: `${SHOTS}/enroll-faces-desktop.png` });
    await page.fill('#enroll-name', person);
    await page.click('#enroll-submit');
    await page.waitForFunction(() => /runs now/.test(document.getElementById('enroll-result')!.textContent ?? ''), null, { timeout: LONG });
    t.match(await page.locator('#enroll-result').textContent(), new RegExp(`Added ${person} \\(4 faces\\)`));
    t.equal(await recognize(photos[8]!), person, `the next recognition of another photo names ${person}`);
    t.equal(await recognize(photos[9]!), person, 'and of one more');

    // Unknown faces: the hallway camera shows someone the model does not know; naming the group enrolls her.
    await open(page, 'unknown');
    await page.locator('#unknown-groups li.group img').first().waitFor({ timeout: LONG });
    const groups = (await (await fetch(`${url}/v1/unknowns`, { headers: withKey })).json()) as { groups: { cameras: string[]; faces: number }[] };
    t.ok(
      groups.groups.some((g) => g.cameras.includes('hallway')),
      'a stranger from the hallway camera is listed',
    );
    t.comment(`unknown groups: ${groups.groups.map((g) => `${g.cameras.join('+')} ×${g.faces}`).join(', ')}`);
    const group = page.locator('#unknown-groups li.group', { hasText: 'hallway' }).first();
    await group.locator('input[type=text]').fill('Katie Hill');
    await group.locator('button[type=submit]').click();
    await page.waitForFunction(() => /runs now/.test(document.getElementById('unknown-status')!.textContent ?? ''), null, { timeout: LONG });
    const model = (await (await fetch(`${url}/v1/model`, { headers: withKey })).json()) as { version: string; actors: string[] };
    t.ok(model.actors.includes('Katie Hill') && model.actors.includes(person), 'both people are in the running model');

    // A stranger seen for five minutes, a face a second (fed to the unknown faces as a camera feeds
    // them): named from the page in one click, from a sample of his faces. More than 200 faces used to
    // fail with "at most 200 faces at once".
    const stranger = 'Tony Blair';
    const strangerPhotos = await photosOf(faces('lfw', stranger));
    const unknowns = daemon.liveVideo!.unknowns;
    const feed = async (person: string[], track: string, seconds: number) => {
      const seen = await facesOf(person);
      const start = Date.now() - seconds * 1000;
      for (let i = 0; i < seconds; i++) {
        const { image, face } = seen[i % seen.length]!;
        unknowns.observe('door', image, [{ box: face.box, embedding: face.embedding, actor: null, track }], start + i * 1000);
      }
    };
    await feed(strangerPhotos.slice(0, 8), 'long-stay', 300);
    await page.locator('#unknown-refresh').click();
    const long = page.locator('#unknown-groups li.group', { hasText: '300 faces kept' });
    await long.waitFor({ timeout: LONG });
    await long.locator('input[type=text]').fill(stranger);
    await long.locator('button[type=submit]').click();
    await page.waitForFunction(
      (name) => new RegExp(`Added ${name} \\(\\d+ faces\\)`).test(document.getElementById('unknown-status')!.textContent ?? ''),
      stranger,
      { timeout: LONG },
    );
    t.match(
      await page.locator('#unknown-status').textContent(),
      new RegExp(`Added ${stranger} \\(24 faces\\)\\. Version .* runs now`),
      'a stranger seen for 5 minutes (300 faces) is enrolled in one click, from 24 of them',
    );
    t.equal(await recognize(strangerPhotos[9]!), stranger, `${stranger} is named on a photo he was not enrolled from`);

    // Before naming a group, its faces can be looked at and unticked.
    const second = 'Gerhard Schroeder';
    const secondPhotos = await photosOf(faces('lfw', second));
    await feed(secondPhotos.slice(0, 8), 'minute', 60);
    await page.locator('#unknown-refresh').click();
    const minute = page.locator('#unknown-groups li.group', { hasText: '60 faces kept' });
    await minute.waitFor({ timeout: LONG });
    await minute.locator('button.choose').click();
    const boxes = minute.locator('.sample input[type=checkbox]');
    await boxes.first().waitFor({ timeout: LONG });
    const shown = await boxes.count();
    t.equal(shown, 24, 'the sample naming would add, every face ticked');
    t.equal(await minute.locator('.sample input:checked').count(), 24);
    t.equal(await minute.locator('button.choose').getAttribute('aria-expanded'), 'true');
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.sample img')].every((i) => i.complete));
    await page.screenshot({ path: `${SHOTS}/unknown-choose-faces-desktop.png` });
    for (let i = 0; i < 3; i++) await boxes.nth(i).uncheck();
    await minute.locator('input[type=text]').fill(second);
    await minute.locator('button[type=submit]').click();
    await page.waitForFunction(
      (name) => new RegExp(`Added ${name} \\(\\d+ faces\\)`).test(document.getElementById('unknown-status')!.textContent ?? ''),
      second,
      { timeout: LONG },
    );
    t.match(await page.locator('#unknown-status').textContent(), new RegExp(`Added ${second} \\(21 faces\\)`), 'three faces unticked: 21 enrolled');
    t.equal(await recognize(secondPhotos[9]!), second, `${second} is named`);

    // Removing a person from the Model section: a new version without him.
    await open(page, 'model');
    await page.locator('#model-remove-actor').selectOption(stranger);
    await page.locator('#model-remove-submit').click();
    await page.waitForFunction(() => /runs now/.test(document.getElementById('model-remove-status')!.textContent ?? ''), null, { timeout: LONG });
    t.match(await page.locator('#model-remove-status').textContent(), new RegExp(`Removed ${stranger}\\. Version .*\\.r\\d+-tony-blair runs now`));
    const removed = (await (await fetch(`${url}/v1/model`, { headers: withKey })).json()) as { actors: string[] };
    t.ok(!removed.actors.includes(stranger) && removed.actors.includes(second), `${stranger} is out of the model, ${second} stays`);
    t.equal(await recognize(strangerPhotos[9]!), null, `${stranger} is unknown again`);

    // Rollback from the page: the version the daemon started with runs again.
    await open(page, 'model');
    const rollback = page.locator(`#model-held button[data-version="${base}"]`);
    await rollback.waitFor();
    await rollback.click();
    await page.waitForFunction(() => /runs now/.test(document.getElementById('model-status')!.textContent ?? ''), null, { timeout: LONG });
    t.equal(
      ((await (await fetch(`${url}/v1/model`, { headers: withKey })).json()) as { version: string }).version,
      base,
      'GET /v1/model names the version rolled back to',
    );
    await page.locator('#model-held li.running', { hasText: base }).waitFor();

    // Landmarks, labels and alternative texts.
    const audit = await page.evaluate(() => ({
      landmarks: ['header', 'nav', 'main'].filter((s) => !document.querySelector(s)),
      unlabelled: [...document.querySelectorAll('input, select')]
        .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label'))
        .map((el) => el.id || el.outerHTML),
      noAlt: [...document.images].filter((i) => !i.hasAttribute('alt')).length,
    }));
    t.same(audit, { landmarks: [], unlabelled: [], noAlt: 0 }, 'landmarks present, every control labelled, every image has alt text');

    const ready = { live: '[data-camera] img.snapshot', model: '#model-held li', enroll: '#enroll-form', unknown: '#unknown-status', health: '.health-camera' };
    await screenshots(page, 'desktop', ready);
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${url}/`);
    await screenshots(phone, 'phone', ready);
    t.same(errors, [], 'no script error on the page');
  },
);

t.test(
  'an empty store: the page says the starter runs; a portrait camera shows its whole frame; a failed camera its reason',
  { skip: browserMissing() ?? videosMissing() },
  async (t) => {
    // A portrait clip: the middle of talking-head-aoc-b, 9:16, as a phone held upright films.
    const portrait = path.join(await mkdtemp(path.join(os.tmpdir(), 'ar-portrait-')), 'portrait.mp4');
    await promisify(execFile)('ffmpeg', [
      '-v',
      'error',
      '-i',
      video('talking-head-aoc-b.mp4'),
      '-vf',
      'crop=ih*9/16:ih',
      '-t',
      '6',
      '-an',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      portrait,
    ]);
    const cameras = [
      { id: 'upright', url: portrait, loop: true, fps: 2, maxWidth: 640 },
      { id: 'garage', url: '/nonexistent/garage.mp4', fps: 1 },
    ];
    const models = path.join(await mkdtemp(path.join(os.tmpdir(), 'ar-empty-store-')), 'actors');
    const { daemon, base: url } = await startDaemon({
      ACTOR_RECOGNIZER_MODEL_DIR: models,
      ACTOR_RECOGNIZER_CAMERAS: JSON.stringify(cameras),
      // The missing file gives up after one restart, so that its failure shows at once.
      ACTOR_RECOGNIZER_INGEST_MAX_RESTARTS: '1',
      ACTOR_RECOGNIZER_INGEST_RESTART_WINDOW_SECONDS: '10',
      ACTOR_RECOGNIZER_INGEST_BACKOFF_INITIAL_MS: '10',
    });
    t.teardown(() => daemon.stop());
    const browser = await launchBrowser();
    t.teardown(() => browser.close());
    const page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${url}/`);

    await page.waitForFunction(() => /starter model: \d+ well-known actors/.test(document.getElementById('live-model')!.textContent ?? ''), null, {
      timeout: LONG,
    });
    t.pass('Live says the names come from the starter model');

    // The failed camera says why, on its card. It shows its reason while it restarts too, so wait
    // for it to give up (after its one restart) before reading it.
    const garage = page.locator('article.camera[data-camera="garage"]');
    await page.waitForFunction(() => document.querySelector('article.camera[data-camera="garage"] .badge')?.textContent === 'failed', null, { timeout: LONG });
    await garage.locator('.camera-reason').waitFor({ state: 'visible', timeout: LONG });
    t.match(await garage.locator('.camera-reason').textContent(), /^Failed: .+/, 'a failed camera shows its reason');
    t.equal(await garage.locator('.badge').textContent(), 'failed');

    // The portrait camera: the picture's box is the frame's box, the whole frame drawn inside it.
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-camera="upright"] img.snapshot')?.naturalWidth ?? 0) > 0, null, {
      timeout: LONG,
    });
    // The card learns the frame size with the camera states (every 10 s, or at once on a reload).
    await page.reload();
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-camera="upright"] img.snapshot')?.naturalWidth ?? 0) > 0, null, {
      timeout: LONG,
    });
    const geometry = await page.evaluate(() => {
      const img = document.querySelector<HTMLImageElement>('[data-camera="upright"] img.snapshot')!;
      const box = (el: Element) => {
        const r = el.getBoundingClientRect();
        return { x: r.x, y: r.y, width: r.width, height: r.height };
      };
      return {
        img: box(img),
        frame: box(img.parentElement!),
        natural: { width: img.naturalWidth, height: img.naturalHeight },
        fit: getComputedStyle(img).objectFit,
      };
    });
    const { img, frame, natural } = geometry;
    t.ok(natural.height > natural.width, `a portrait frame (${natural.width}×${natural.height})`);
    t.equal(geometry.fit, 'contain', 'drawn whole inside its box');
    t.ok(
      Math.abs(img.x - frame.x) < 1 && Math.abs(img.y - frame.y) < 1 && Math.abs(img.width - frame.width) < 1 && Math.abs(img.height - frame.height) < 1,
      `the picture's box is the frame's, nothing cut off (${JSON.stringify(geometry)})`,
    );
    const scale = Math.min(frame.width / natural.width, frame.height / natural.height);
    t.ok(natural.width * scale > frame.width * 0.3 && natural.height * scale >= frame.height - 1, "and it fills the frame's height");

    // The Model section says it is the starter, and how to replace it.
    await open(page, 'model');
    await page.locator('#model-starter').waitFor({ state: 'visible' });
    t.match(await page.locator('#model-starter').textContent(), /This is the starter model: \d+ well-known actors, built in/);
    t.match(await page.locator('#model-facts').textContent(), /the starter model \(built in\)/);

    await screenshots(page, 'starter-desktop', { live: '[data-camera="upright"] img.snapshot', model: '#model-starter' });
    const phone = await page.context().newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${url}/`);
    await screenshots(phone, 'starter-phone', { live: '[data-camera="upright"] img.snapshot', model: '#model-starter' });
    t.same(errors, [], 'no script error on the page');
  },
);
