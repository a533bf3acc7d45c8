// Model: the running version and its actors, the versions held (with rollback), and refused bundles.
import { api, clock, fact, fill, h, say } from './api.js';

export class ModelView {
  constructor(news) {
    this.news = news;
    this.status = document.getElementById('model-status');
    news.addEventListener('model', () => void this.load());
  }

  start() {
    document.getElementById('model-reload').addEventListener('click', () => void this.reload());
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
    fill(
      document.getElementById('model-facts'),
      fact('Version', running?.version ?? 'none: every face is unknown'),
      fact('Actors', running ? String(running.actors.length) : '0'),
      fact('Loaded', running ? `${new Date(running.loadedAt).toLocaleDateString()} ${clock(running.loadedAt)}` : '—'),
      fact('From', running?.source ?? '—'),
    );
    fill(document.getElementById('model-actors'), (running?.actors ?? []).map((a) => h('li', { class: 'chip' }, a)));
    const layout = document.getElementById('model-layout');
    layout.hidden = models.layout !== 'bundle';
    layout.textContent = `model.dir (${models.dir}) is one bundle: keeping versions, rolling back and enrolling need a folder of versions.`;
    fill(
      document.getElementById('model-held'),
      models.held.length
        ? models.held.map((v) =>
            h(
              'li',
              { class: v.running ? 'version running' : 'version' },
              h('span', { class: 'version-name' }, v.version),
              h('span', { class: 'hint' }, `arrived ${new Date(v.installedAt).toLocaleString()}`),
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
