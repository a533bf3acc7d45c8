// @ts-check
// Model: the running version and its actors, the versions held (with rollback), and refused bundles.
import { api, byId, clock, fact, fill, h, say } from './api.js';
import { undoButton } from './enroll.js';

export class ModelView {
  /** @param {EventTarget} news page-wide news: `model` when the model changed */
  constructor(news) {
    this.news = news;
    this.status = byId('model-status');
    news.addEventListener('model', () => void this.load());
    // A refused bundle is listed among the refusals: shown as it happens, not at the next visit.
    news.addEventListener('modelRefused', () => void this.load());
  }

  start() {
    byId('model-reload').addEventListener('click', () => void this.reload());
    byId('model-remove').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.remove(byId('model-remove-actor', HTMLSelectElement).value);
    });
  }

  show() {
    void this.load();
  }

  async load() {
    /** @type {import('./types').ModelsAnswer} */
    let models;
    try {
      models = /** @type {import('./types').ModelsAnswer} */ (await api('/v1/models'));
    } catch (err) {
      say(this.status, `Could not read the model: ${/** @type {Error} */ (err).message}`, 'error');
      return;
    }
    const running = models.running;
    const starter = running?.source === 'starter';
    const notice = byId('model-starter');
    notice.hidden = !starter;
    notice.textContent =
      running && starter
        ? `This is the starter model: ${running.actors.length} well-known actors, built in, so that faces are named before anyone trains a model. Add your own people under Enroll or Unknown faces (they join these actors), or train a model into ${models.dir}: the first one replaces the starter.`
        : '';
    fill(
      byId('model-facts'),
      fact('Version', running?.version ?? 'none: every face is unknown'),
      fact('Actors', running ? String(running.actors.length) : '0'),
      fact('Loaded', running ? `${new Date(running.loadedAt).toLocaleDateString()} ${clock(running.loadedAt)}` : '—'),
      fact('From', starter ? 'the starter model (built in)' : (running?.source ?? '—')),
    );
    const actors = running?.actors ?? [];
    fill(
      byId('model-actors'),
      actors.map((a) => h('li', { class: 'chip' }, a)),
    );
    // A few names show at once; the starter's hundred and more wait behind a summary, so that the
    // versions below stay in sight.
    const box = byId('model-actors-box', HTMLDetailsElement);
    if (actors.length <= 24) box.open = true;
    byId('model-actors-summary').textContent = actors.length
      ? `${actors.length} ${actors.length === 1 ? 'person' : 'people'}: ${actors.slice(0, 6).join(', ')}${actors.length > 6 ? ', …' : ''}`
      : 'Nobody yet';
    const select = byId('model-remove-actor', HTMLSelectElement);
    const chosen = select.value;
    fill(
      select,
      (running?.actors ?? []).map((a) => h('option', { value: a, selected: a === chosen }, a)),
    );
    byId('model-remove').hidden = !running || running.actors.length < 2 || models.layout !== 'store';
    const layout = byId('model-layout');
    layout.hidden = models.layout !== 'bundle';
    layout.textContent = `model.dir (${models.dir}) is one bundle: keeping versions, rolling back and enrolling need a folder of versions.`;
    // The starter is not in the store, but it can be run again like a version held there.
    const starterModel = models.starter;
    /** @type {import('./types').HeldVersion[]} */
    const builtIn =
      starterModel && !models.held.some((v) => v.version === starterModel.version)
        ? [{ version: starterModel.version, running: starterModel.running, builtIn: true }]
        : [];
    const versions = [...models.held, ...builtIn];
    fill(
      byId('model-held'),
      versions.length
        ? versions.map((v) =>
            h(
              'li',
              { class: v.running ? 'version running' : 'version' },
              h('span', { class: 'version-name' }, v.version),
              h('span', { class: 'hint' }, v.builtIn ? 'the starter model, built in' : `arrived ${new Date(v.installedAt ?? NaN).toLocaleString()}`),
              v.running
                ? h('span', { class: 'badge', 'data-state': 'running' }, 'running')
                : h('button', { type: 'button', 'data-version': v.version, onclick: () => void this.activate(v.version) }, 'Run this version'),
            ),
          )
        : [h('li', { class: 'none' }, 'No other version on this device.')],
    );
    fill(
      byId('model-refusals'),
      models.refusals.length
        ? models.refusals.map((r) =>
            h(
              'li',
              {},
              h('strong', {}, r.version ?? 'unnamed bundle'),
              ` from ${r.source}, ${clock(r.at)}: `,
              h('span', { class: 'reason' }, `${r.reason} (${r.code})`),
            ),
          )
        : [h('li', { class: 'none' }, 'None since the daemon started.')],
    );
  }

  /** @param {string} actor */
  async remove(actor) {
    if (!actor) return;
    const status = byId('model-remove-status');
    const button = byId('model-remove-submit', HTMLButtonElement);
    button.disabled = true;
    say(status, `Removing ${actor} from the model…`);
    try {
      const answer = /** @type {import('./types').RemoveAnswer} */ (await api(`/v1/model/actors/${encodeURIComponent(actor)}`, { method: 'DELETE' }));
      fill(status, `Removed ${answer.actor}. Version ${answer.version} runs now. `, undoButton(answer.previous, this.news, status));
      status.dataset.kind = 'ok';
      this.news.dispatchEvent(new Event('model'));
    } catch (err) {
      say(status, `${actor} was not removed: ${/** @type {Error} */ (err).message}`, 'error');
    } finally {
      button.disabled = false;
    }
  }

  /** @param {string} version */
  async activate(version) {
    say(this.status, `Checking and starting ${version}…`);
    try {
      const answer = /** @type {import('./types').ActivateAnswer} */ (await api('/v1/model/activate', { method: 'POST', json: { version } }));
      say(this.status, `${answer.version} runs now.`, 'ok');
      this.news.dispatchEvent(new Event('model'));
    } catch (err) {
      say(this.status, `${version} was not started: ${/** @type {Error} */ (err).message}`, 'error');
      await this.load();
    }
  }

  async reload() {
    say(this.status, 'Looking for a new model…');
    try {
      const answer = /** @type {import('./types').ActivateAnswer} */ (await api('/v1/model/reload', { method: 'POST' }));
      say(this.status, answer.changed ? `${answer.version} runs now.` : 'No new model found.', 'ok');
      if (answer.changed) this.news.dispatchEvent(new Event('model'));
      else await this.load();
    } catch (err) {
      say(this.status, `The new model was refused: ${/** @type {Error} */ (err).message}`, 'error');
      await this.load();
    }
  }
}
