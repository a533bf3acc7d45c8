// The web page in headless Chromium: the live camera, the API key, enrollment, unknown faces, rollback.
import { mkdir, readFile } from 'node:fs/promises';
import t from 'tap';
import type { Page } from 'playwright-core';
import { faces } from './helpers/datasets.js';
import { photosOf } from './helpers/embeddings.js';
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

t.test('the page shows the camera and who is on it, enrolls from photos and from unknown faces, rolls back', { skip: browserMissing() ?? videosMissing() }, async (t) => {
  const { dir, version: base } = await storeWith(await aocModel());
  const cameras = [
    { id: 'living-room', url: video('talking-head-aoc-b.mp4'), loop: true, fps: 5, maxWidth: 640 },
    { id: 'hallway', url: video('talking-head-katie-hill.mp4'), loop: true, fps: 5, maxWidth: 640 },
  ];
  const { daemon, base: url } = await startDaemon({ ACTOR_RECOGNIZER_MODEL_DIR: dir, ACTOR_RECOGNIZER_CAMERAS: JSON.stringify(cameras), ACTOR_RECOGNIZER_API_API_KEY: KEY });
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
  for (const route of ['/v1/cameras', '/v1/status', '/v1/unknowns', '/v1/appearances', '/v1/cameras/living-room/frame.jpg', '/ui/nothing.js']) t.equal((await fetch(`${url}${route}`)).status, 401, `${route} without the key: 401`);

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
  t.equal(await page.evaluate(() => localStorage.getItem('actor-recognizer.apiKey')), KEY, 'the key is kept in localStorage');

  // Live: the camera, its latest frame (fetched with the key as a blob), and her name.
  const card = page.locator('article.camera[data-camera="living-room"]');
  await card.waitFor();
  await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-camera="living-room"] img.snapshot')?.naturalWidth ?? 0) > 0, null, { timeout: LONG });
  t.match(await card.locator('img.snapshot').getAttribute('src'), /^blob:/, 'the snapshot is shown');
  await page.waitForFunction((name) => document.querySelector('[data-camera="living-room"]')!.textContent!.includes(name), AOC, { timeout: LONG });
  t.ok((await card.textContent())!.includes(AOC), `${AOC} is named on the living-room card`);
  t.equal(await card.locator('.onscreen').getAttribute('aria-live'), 'polite', 'who is on screen is announced politely');
  await page.waitForFunction((name) => [...document.querySelectorAll('[data-camera="living-room"] .lane-name')].some((l) => l.textContent === name), AOC, { timeout: LONG });
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
  const frames = (await (await fetch(`${url}/v1/status`, { headers: withKey })).json()) as { cameras: { id: string; framesProcessed: number; latencyMs: { mean: number } | null }[] };
  const living = frames.cameras.find((c) => c.id === 'living-room')!;
  t.comment(`living-room: ${living.framesProcessed} frames analysed, latency ${living.latencyMs?.mean} ms`);

  // Enroll a person the model does not know, from photos, through the page.
  const person = 'Colin Powell';
  const photos = await photosOf(faces('lfw', person));
  const recognize = async (file: string) =>
    ((await (await fetch(`${url}/v1/recognize`, { method: 'POST', headers: { ...withKey, 'content-type': 'image/jpeg' }, body: await readFile(file) })).json()) as { faces: { actor: string | null }[] }).faces[0]?.actor;
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
  t.ok(groups.groups.some((g) => g.cameras.includes('hallway')), 'a stranger from the hallway camera is listed');
  t.comment(`unknown groups: ${groups.groups.map((g) => `${g.cameras.join('+')} ×${g.faces}`).join(', ')}`);
  const group = page.locator('#unknown-groups li.group', { hasText: 'hallway' }).first();
  await group.locator('input[type=text]').fill('Katie Hill');
  await group.locator('button[type=submit]').click();
  await page.waitForFunction(() => /runs now/.test(document.getElementById('unknown-status')!.textContent ?? ''), null, { timeout: LONG });
  const model = (await (await fetch(`${url}/v1/model`, { headers: withKey })).json()) as { version: string; actors: string[] };
  t.ok(model.actors.includes('Katie Hill') && model.actors.includes(person), 'both people are in the running model');

  // Rollback from the page: the version the daemon started with runs again.
  await open(page, 'model');
  const rollback = page.locator(`#model-held button[data-version="${base}"]`);
  await rollback.waitFor();
  await rollback.click();
  await page.waitForFunction(() => /runs now/.test(document.getElementById('model-status')!.textContent ?? ''), null, { timeout: LONG });
  t.equal(((await (await fetch(`${url}/v1/model`, { headers: withKey })).json()) as { version: string }).version, base, 'GET /v1/model names the version rolled back to');
  await page.locator('#model-held li.running', { hasText: base }).waitFor();

  // Landmarks, labels and alternative texts.
  const audit = await page.evaluate(() => ({
    landmarks: ['header', 'nav', 'main'].filter((s) => !document.querySelector(s)),
    unlabelled: [...document.querySelectorAll('input, select')].filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label')).map((el) => el.id || el.outerHTML),
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
});
