// Unknown faces: strangers seen recently, grouped one a person; name a group to enroll that person.
import { api, clock, fill, h, Repeat, say } from './api.js';
import { enrolledMessage } from './enroll.js';

const REFRESH_MS = 30_000;

export class Unknowns {
  constructor(news) {
    this.news = news;
    this.list = document.getElementById('unknown-groups');
    this.status = document.getElementById('unknown-status');
    // New strangers come slowly; a look every half minute while this section is open is plenty.
    this.repeat = new Repeat(() => this.load(), REFRESH_MS);
    document.getElementById('unknown-refresh').addEventListener('click', () => void this.load());
  }

  show() {
    this.repeat.start();
  }

  hide() {
    this.repeat.stop();
  }

  async load() {
    let answer;
    try {
      answer = await api('/v1/unknowns');
    } catch (err) {
      say(this.status, `Could not read the unknown faces: ${err.message}`, 'error');
      return;
    }
    // A name being typed must not be wiped by a refresh.
    const typing = this.list.contains(document.activeElement) && document.activeElement.value;
    if (typing) return;
    const minutes = Math.round(answer.windowSeconds / 60);
    if (!this.status.dataset.kind || this.status.dataset.kind === 'info') say(this.status, answer.groups.length ? `${answer.groups.length} stranger${answer.groups.length === 1 ? '' : 's'} in the last ${minutes} minutes.` : `No stranger in the last ${minutes} minutes.`, 'info');
    fill(this.list, answer.groups.map((g, i) => this.group(g, i + 1)));
  }

  group(g, n) {
    const input = h('input', { type: 'text', id: `unknown-name-${g.id}`, maxlength: 64, autocomplete: 'off', spellcheck: 'false', required: true });
    const form = h(
      'form',
      { class: 'name-group' },
      h('label', { for: input.id }, `Name person ${n}`),
      input,
      h('span', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, 'Add to the model'), h('button', { type: 'button', onclick: () => void this.dismiss(g.id, n) }, 'Forget')),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.enroll(g.id, input.value.trim(), n);
    });
    const thumbs = g.thumbnails.length ? g.thumbnails.map((src, i) => h('img', { src, alt: i === 0 ? `Person ${n}` : '', width: 64, height: 64 })) : [h('span', { class: 'hint' }, 'no picture yet')];
    const [first, last] = [clock(g.firstSeen, false), clock(g.lastSeen, false)];
    const seen = `Seen ${first === last ? `at ${first}` : `${first}–${last}`} on ${g.cameras.join(', ')}; ${g.appearances} appearance${g.appearances === 1 ? '' : 's'}, ${g.faces} face${g.faces === 1 ? '' : 's'} kept.`;
    return h('li', { class: 'group', 'data-group': g.id }, h('div', { class: 'thumbs' }, thumbs), h('p', {}, seen), form);
  }

  async enroll(id, name, n) {
    if (!name) return say(this.status, `Give person ${n} a name first.`, 'error');
    say(this.status, `Adding ${name} to the model…`, 'busy');
    try {
      const answer = await api(`/v1/unknowns/${encodeURIComponent(id)}/enroll`, { method: 'POST', json: { name } });
      fill(this.status, enrolledMessage(answer, this.news, this.status));
      this.status.dataset.kind = 'ok';
      this.news.dispatchEvent(new Event('model'));
      this.list.querySelector(`[data-group="${CSS.escape(id)}"]`)?.remove();
    } catch (err) {
      say(this.status, `${name} was not added: ${err.message}`, 'error');
    }
  }

  async dismiss(id, n) {
    await api(`/v1/unknowns/${encodeURIComponent(id)}`, { method: 'DELETE' }).catch(() => undefined);
    say(this.status, `Person ${n} forgotten.`, 'info');
    this.list.querySelector(`[data-group="${CSS.escape(id)}"]`)?.remove();
  }
}
