// Model: the running version and its actors, the versions held (with rollback), and refused bundles.
import { api, clock, fact, fill, h, say } from './api.js';
import { undoButton } from './enroll.js';

export class ModelView {
  constructor(news) {
    this.news = news;
    this.status = document.getElementById('model-status');
    news.addEventListener('model', () => void this.load());
    // A refused bundle is listed among the refusals: shown as it happens, not at the next visit.
    news.addEventListener('modelRefused', () => void this.load());
  }

  start() {
    document.getElementById('model-reload').addEventListener('click', () => void this.reload());
    document.getElementById('model-remove').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.remove(document.getElementById('model-remove-actor').value);
    });
  }

  show() {
    void this.load();
  }

  async load() {
    let models;
    try {
      models = await api('/v1/models');
    } catch (err) {
      say(this.status, `Could not read the model: ${err.message}`, 'error');
      return;
    }
    const running = models.running;
    const starter = running?.source === 'starter';
    const notice = document.getElementById('model-starter');
    notice.hidden = !starter;
    notice.textContent = starter
      ? `This is the starter model: ${running.actors.length} well-known actors, built in, so that faces are named before anyone trains a model. Add your own people under Enroll or Unknown faces (they join these actors), or train a model into ${models.dir}: the first one replaces the starter.`
      : '';
    fill(
      document.getElementById('model-facts'),
      fact('Version', running?.version ?? 'none: every face is unknown'),
      fact('Actors', running ? String(running.actors.length) : '0'),
      fact('Loaded', running ? `${new Date(running.loadedAt).toLocaleDateString()} ${clock(running.loadedAt)}` : '—'),
      fact('From', starter ? 'the starter model (built in)' : (running?.source ?? '—')),
    );
    const actors = running?.actors ?? [];
    fill(document.getElementById('model-actors'), actors.map((a) => h('li', { class: 'chip' }, a)));
    // A few names show at once; the starter's hundred and more wait behind a summary, so that the
    // versions below stay in sight.
    const box = document.getElementById('model-actors-box');
    if (actors.length <= 24) box.open = true;
    document.getElementById('model-actors-summary').textContent = actors.length ? `${actors.length} ${actors.length === 1 ? 'person' : 'people'}: ${actors.slice(0, 6).join(', ')}${actors.length > 6 ? ', …' : ''}` : 'Nobody yet';
    const select = document.getElementById('model-remove-actor');
    const chosen = select.value;
    fill(select, (running?.actors ?? []).map((a) => h('option', { value: a, selected: a === chosen }, a)));
    document.getElementById('model-remove').hidden = !running || running.actors.length < 2 || models.layout !== 'store';
    const layout = document.getElementById('model-layout');
    layout.hidden = models.layout !== 'bundle';
    layout.textContent = `model.dir (${models.dir}) is one bundle: keeping versions, rolling back and enrolling need a folder of versions.`;
    // The starter is not in the store, but it can be run again like a version held there.
    const builtIn = models.starter && !models.held.some((v) => v.version === models.starter.version) ? [{ version: models.starter.version, running: models.starter.running, builtIn: true }] : [];
    const versions = [...models.held, ...builtIn];
    fill(
      document.getElementById('model-held'),
      versions.length
        ? versions.map((v) =>
            h(
              'li',
              { class: v.running ? 'version running' : 'version' },
              h('span', { class: 'version-name' }, v.version),
              h('span', { class: 'hint' }, v.builtIn ? 'the starter model, built in' : `arrived ${new Date(v.installedAt).toLocaleString()}`),
              v.running
                ? h('span', { class: 'badge', 'data-state': 'running' }, 'running')
                : h('button', { type: 'button', 'data-version': v.version, onclick: () => void this.activate(v.version) }, 'Run this version'),
            ),
          )
        : [h('li', { class: 'none' }, 'No other version on this device.')],
    );
    fill(
      document.getElementById('model-refusals'),
      models.refusals.length
        ? models.refusals.map((r) => h('li', {}, h('strong', {}, r.version ?? 'unnamed bundle'), ` from ${r.source}, ${clock(r.at)}: `, h('span', { class: 'reason' }, `${r.reason} (${r.code})`)))
        : [h('li', { class: 'none' }, 'None since the daemon started.')],
    );
  }

  async remove(actor) {
    if (!actor) return;
    const status = document.getElementById('model-remove-status');
    const button = document.getElementById('model-remove-submit');
    button.disabled = true;
    say(status, `Removing ${actor} from the model…`);
    try {
      const answer = await api(`/v1/model/actors/${encodeURIComponent(actor)}`, { method: 'DELETE' });
      fill(status, `Removed ${answer.actor}. Version ${answer.version} runs now. `, undoButton(answer.previous, this.news, status));
      status.dataset.kind = 'ok';
      this.news.dispatchEvent(new Event('model'));
    } catch (err) {
      say(status, `${actor} was not removed: ${err.message}`, 'error');
    } finally {
      button.disabled = false;
    }
  }

  async activate(version) {
    say(this.status, `Checking and starting ${version}…`);
    try {
      const answer = await api('/v1/model/activate', { method: 'POST', json: { version } });
      say(this.status, `${answer.version} runs now.`, 'ok');
      this.news.dispatchEvent(new Event('model'));
    } catch (err) {
      say(this.status, `${version} was not started: ${err.message}`, 'error');
      await this.load();
    }
  }

  async reload() {
    say(this.status, 'Looking for a new model…');
    try {
      const answer = await api('/v1/model/reload', { method: 'POST' });
      say(this.status, answer.changed ? `${answer.version} runs now.` : 'No new model found.', 'ok');
      if (answer.changed) this.news.dispatchEvent(new Event('model'));
      else await this.load();
    } catch (err) {
      say(this.status, `The new model was refused: ${err.message}`, 'error');
      await this.load();
    }
  }
}
