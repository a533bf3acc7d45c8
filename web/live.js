// @ts-check
// Live: per camera, the latest analysed frame, who is on screen now, and the last hour as a timeline.
import { api, byId, clock, fill, h, request } from './api.js';

/** @typedef {import('./types').Appearance} Appearance */
/** @typedef {import('./types').Camera} Camera */

const HOUR = 3_600_000;
/** The fastest a frame is fetched per camera: annotating a JPEG costs the device a little each time. */
const MIN_FRAME_GAP_MS = 1000;

export class Live {
  /** @param {EventTarget} news page-wide news: `actors` and `appearance` (CustomEvents from /v1/events), `connected`, `model` */
  constructor(news) {
    this.news = news;
    /** @type {Map<string, CameraCard>} */
    this.cards = new Map();
    /** @type {Map<string, Appearance>} by `camera#trackId` */
    this.appearances = new Map();
    this.running = false;
    /** @type {ReturnType<typeof setInterval>[]} */
    this.timers = [];
    news.addEventListener('actors', (e) => {
      const { camera, actors } = /** @type {CustomEvent<import('./types').ActorsEvent>} */ (e).detail;
      this.cards.get(camera)?.setActors(actors);
    });
    news.addEventListener('appearance', (e) => this.record(/** @type {CustomEvent<import('./types').AppearanceEvent>} */ (e).detail));
    // After a reconnection the events missed are lost: catch up from the API.
    news.addEventListener('connected', () => void this.refresh());
    news.addEventListener('model', () => void this.showModel());
  }

  async start() {
    await Promise.all([this.refresh(), this.showModel()]);
  }

  /** One line on which model names the faces: the starter says so, since it knows only famous people. */
  async showModel() {
    const model = /** @type {import('./types').ModelAnswer | null} */ (await api('/v1/model').catch(() => null));
    const line = byId('live-model');
    if (!model?.version) line.textContent = 'No actor model: every face is unknown. Train one, or enroll people under Enroll.';
    else if (model.source === 'starter')
      line.textContent = `Names come from the starter model: ${model.actors.length} well-known actors, built in. Add your own people under Enroll or Unknown faces.`;
    else line.textContent = `Names come from model ${model.version} (${model.actors.length} ${model.actors.length === 1 ? 'person' : 'people'}).`;
  }

  async refresh() {
    const [{ cameras }, { appearances }] = /** @type {[{ cameras: Camera[] }, { appearances: Appearance[] }]} */ (
      await Promise.all([api('/v1/cameras'), api('/v1/appearances')])
    );
    byId('live-empty').hidden = cameras.length > 0;
    const container = byId('cameras');
    for (const camera of cameras) {
      let card = this.cards.get(camera.id);
      if (!card) {
        card = new CameraCard(camera.id);
        this.cards.set(camera.id, card);
        container.append(card.el);
        if (this.running) card.follow();
      }
      card.update(camera);
    }
    this.appearances = new Map(appearances.map((a) => [`${a.camera}#${a.trackId}`, a]));
    this.drawTimelines();
  }

  show() {
    if (this.running) return;
    this.running = true;
    for (const card of this.cards.values()) card.follow();
    // Camera states change rarely; frames and names come by themselves.
    this.timers.push(setInterval(() => void this.refreshStates(), 10_000));
    this.timers.push(setInterval(() => this.drawTimelines(), 30_000));
  }

  hide() {
    this.running = false;
    for (const card of this.cards.values()) card.stop();
    this.timers.forEach(clearInterval);
    this.timers = [];
  }

  async refreshStates() {
    const { cameras } = /** @type {{ cameras: Camera[] }} */ (await api('/v1/cameras').catch(() => ({ cameras: [] })));
    for (const camera of cameras) this.cards.get(camera.id)?.update(camera);
  }

  /** @param {import('./types').AppearanceEvent} e */
  record(e) {
    const key = `${e.camera}#${e.trackId}`;
    /** @type {Appearance} */
    const entry = this.appearances.get(key) ?? { camera: e.camera, trackId: e.trackId, actor: null, start: e.at, end: null };
    entry.actor = e.actor;
    entry.confidence = e.type === 'left' ? (e.bestConfidence ?? e.confidence) : e.confidence;
    if (e.type === 'left') entry.end = e.at;
    this.appearances.set(key, entry);
    this.cards.get(e.camera)?.drawTimeline([...this.appearances.values()].filter((a) => a.camera === e.camera));
  }

  drawTimelines() {
    const limit = Date.now() - HOUR;
    for (const [key, a] of this.appearances) if (a.end && Date.parse(a.end) < limit) this.appearances.delete(key);
    for (const [id, card] of this.cards) card.drawTimeline([...this.appearances.values()].filter((a) => a.camera === id));
  }
}

class CameraCard {
  /** @param {string} id */
  constructor(id) {
    this.id = id;
    const slug = id.replace(/[^A-Za-z0-9_-]/g, '_');
    this.state = h('span', { class: 'badge' });
    this.img = h('img', { alt: `Latest analysed frame of camera ${id}, with boxes and names`, class: 'snapshot' });
    this.placeholder = h('p', { class: 'placeholder' }, 'Waiting for the first frame…');
    this.caption = h('figcaption', {}, '');
    this.reason = h('p', { class: 'reason camera-reason', role: 'status' });
    this.reason.hidden = true;
    this.frame = h('div', { class: 'frame' }, this.placeholder, this.img);
    this.actors = h('ul', { class: 'chips onscreen', 'aria-live': 'polite', 'aria-atomic': 'true', 'aria-label': `On screen now on ${id}` });
    this.lanes = h('ul', { class: 'lanes' });
    this.el = h(
      'article',
      { class: 'camera', 'aria-labelledby': `cam-${slug}`, 'data-camera': id },
      h('header', { class: 'camera-head' }, h('h3', { id: `cam-${slug}` }, id), this.state),
      this.reason,
      h('figure', {}, this.frame, this.caption),
      h('h4', {}, 'On screen now'),
      this.actors,
      h('h4', {}, 'Last hour'),
      this.lanes,
      h(
        'div',
        { class: 'axis', 'aria-hidden': 'true' },
        h('div', { class: 'axis-marks' }, h('span', {}, '60 min ago'), h('span', {}, '30'), h('span', {}, 'now')),
      ),
    );
    this.img.hidden = true;
    /** @type {string | undefined} the names shown, to leave the live region alone when they have not changed */
    this.shown = undefined;
    this.setActors([]);
    /** @type {AbortController | null} */
    this.loop = null;
    /** @type {string | null} */
    this.url = null;
  }

  /** @param {Camera} camera */
  update(camera) {
    this.state.textContent = camera.state;
    this.state.dataset.state = camera.state;
    this.state.title = camera.reason ?? '';
    // Why a camera is not running, in words on the card, not only in a tooltip.
    const trouble = camera.state !== 'running' && camera.reason;
    this.reason.hidden = !trouble;
    this.reason.textContent = trouble
      ? `${camera.state === 'failed' ? 'Failed' : camera.state === 'restarting' ? 'Restarting' : 'Stopped'}: ${camera.reason}`
      : '';
    if (camera.state === 'failed' && this.img.hidden) this.placeholder.textContent = 'No picture: the camera failed.';
    if (camera.width && camera.height) {
      this.img.width = camera.width;
      this.img.height = camera.height;
      // The box takes the camera's own shape, so the whole frame shows, whatever its aspect ratio.
      this.frame.style.setProperty('--ratio', `${camera.width} / ${camera.height}`);
    }
    this.setActors(camera.actors);
  }

  /** @param {string[]} actors */
  setActors(actors) {
    // Same names, same list: a live region re-filled with the same text would be read out again.
    const key = actors.join('\n');
    if (key === this.shown) return;
    this.shown = key;
    fill(this.actors, actors.length ? actors.map((a) => h('li', { class: 'chip' }, a)) : [h('li', { class: 'none' }, 'Nobody the model knows')]);
  }

  /** Fetches each next frame as the camera analyses it (the server holds the request until then). */
  follow() {
    if (this.loop) return;
    const abort = new AbortController();
    this.loop = abort;
    void (async () => {
      let after = 0;
      while (!abort.signal.aborted) {
        const started = Date.now();
        try {
          const res = await request(`/v1/cameras/${encodeURIComponent(this.id)}/frame.jpg?after=${after}`, { signal: abort.signal });
          after = Number(res.headers.get('x-frame') ?? after);
          if (res.status === 200) this.showFrame(await res.blob());
          else await res.body?.cancel();
        } catch {
          if (abort.signal.aborted) return;
          await new Promise((r) => setTimeout(r, 3000));
        }
        const wait = MIN_FRAME_GAP_MS - (Date.now() - started);
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
  }

  stop() {
    this.loop?.abort();
    this.loop = null;
  }

  /** @param {Blob} blob */
  showFrame(blob) {
    const url = URL.createObjectURL(blob);
    this.img.src = url;
    this.img.hidden = false;
    this.placeholder.hidden = true;
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = url;
    this.caption.textContent = `Updated ${clock(new Date().toISOString())}`;
  }

  /**
   * One lane per person (unknown people share one), bars placed on the last hour.
   * @param {Appearance[]} appearances
   */
  drawTimeline(appearances) {
    const now = Date.now();
    /** @type {Map<string, Appearance[]>} */
    const lanes = new Map();
    for (const a of appearances) {
      const name = a.actor ?? 'Unknown';
      lanes.set(name, [...(lanes.get(name) ?? []), a]);
    }
    if (lanes.size === 0) {
      fill(this.lanes, h('li', { class: 'none' }, 'Nobody in the last hour'));
      return;
    }
    const order = [...lanes].sort(([a], [b]) => Number(a === 'Unknown') - Number(b === 'Unknown') || a.localeCompare(b));
    fill(
      this.lanes,
      order.map(([name, list]) => {
        const track = h('div', { class: 'track', 'aria-hidden': 'true' });
        let seconds = 0;
        for (const a of list) {
          const start = Math.max(Date.parse(a.start), now - HOUR);
          const end = a.end ? Date.parse(a.end) : now;
          seconds += Math.max(0, end - start) / 1000;
          const bar = h('span', { class: a.end ? 'bar' : 'bar open', title: `${name}: ${clock(a.start, false)}–${a.end ? clock(a.end, false) : 'now'}` });
          bar.style.left = `${((start - (now - HOUR)) / HOUR) * 100}%`;
          bar.style.width = `${Math.max(0.6, ((end - start) / HOUR) * 100)}%`;
          track.append(bar);
        }
        // A lane exists only for a person with an appearance.
        const last = /** @type {Appearance} */ (list.at(-1));
        const summary = `${list.length} appearance${list.length === 1 ? '' : 's'}, ${formatDuration(seconds)}, last ${last.end ? `at ${clock(last.end, false)}` : 'on screen now'}`;
        return h(
          'li',
          { class: name === 'Unknown' ? 'lane unknown' : 'lane' },
          h('span', { class: 'lane-name' }, name),
          track,
          h('span', { class: 'visually-hidden' }, summary),
        );
      }),
    );
  }
}

/** @param {number} seconds */
function formatDuration(seconds) {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  return `${Math.round(seconds / 60)} min`;
}
