// @ts-check
// Unknown faces: strangers seen recently, grouped one a person; name a group to enroll that person.
import { api, byId, clock, fill, h, Repeat, say } from './api.js';
import { enrolledMessage } from './enroll.js';

const REFRESH_MS = 30_000;

export class Unknowns {
  /** @param {EventTarget} news page-wide news: `model` when the model changed */
  constructor(news) {
    this.news = news;
    this.list = byId('unknown-groups');
    this.status = byId('unknown-status');
    // New strangers come slowly; a look every half minute while this section is open is plenty.
    this.repeat = new Repeat(() => this.load(), REFRESH_MS);
    byId('unknown-refresh').addEventListener('click', () => void this.load());
  }

  show() {
    this.repeat.start();
  }

  hide() {
    this.repeat.stop();
  }

  async load() {
    /** @type {import('./types').UnknownsAnswer} */
    let answer;
    try {
      answer = /** @type {import('./types').UnknownsAnswer} */ (await api('/v1/unknowns'));
    } catch (err) {
      say(this.status, `Could not read the unknown faces: ${/** @type {Error} */ (err).message}`, 'error');
      return;
    }
    // A name being typed, or faces being unticked, must not be wiped by a refresh.
    const active = document.activeElement;
    const typing = this.list.contains(active) && active instanceof HTMLInputElement && active.value;
    if (typing || this.list.querySelector('.sample:not([hidden])')) return;
    const minutes = Math.round(answer.windowSeconds / 60);
    if (!this.status.dataset.kind || this.status.dataset.kind === 'info')
      say(
        this.status,
        answer.groups.length
          ? `${answer.groups.length} stranger${answer.groups.length === 1 ? '' : 's'} in the last ${minutes} minutes.`
          : `No stranger in the last ${minutes} minutes.`,
        'info',
      );
    fill(
      this.list,
      answer.groups.map((g, i) => this.group(g, i + 1)),
    );
  }

  /**
   * @param {import('./types').UnknownGroup} g
   * @param {number} n its number on the page, "person n"
   */
  group(g, n) {
    const input = h('input', { type: 'text', id: `unknown-name-${g.id}`, maxlength: 64, autocomplete: 'off', spellcheck: 'false', required: true });
    // The faces naming enrolls: a sample of the group's best and most varied, loaded on demand to untick.
    const sample = h('div', {
      class: 'faces sample',
      id: `unknown-sample-${g.id}`,
      role: 'group',
      'aria-label': `Faces of person ${n} to add: untick any that is not them`,
      hidden: true,
    });
    const choose = h('button', { type: 'button', 'aria-expanded': 'false', 'aria-controls': sample.id, class: 'choose' }, 'Choose faces…');
    choose.addEventListener('click', () => void this.toggleSample(g.id, sample, choose, n));
    const form = h(
      'form',
      { class: 'name-group' },
      h('label', { for: input.id }, `Name person ${n}`),
      input,
      h(
        'span',
        { class: 'buttons' },
        h('button', { type: 'submit', class: 'primary' }, 'Add to the model'),
        choose,
        h('button', { type: 'button', onclick: () => void this.dismiss(g.id, n) }, 'Forget'),
      ),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const faces = sample.dataset.loaded
        ? [.../** @type {NodeListOf<HTMLInputElement>} */ (sample.querySelectorAll('input:checked'))].map((c) => c.value)
        : undefined;
      void this.enroll(g.id, input.value.trim(), n, faces);
    });
    const thumbs = g.thumbnails.length
      ? g.thumbnails.map((src, i) => h('img', { src, alt: i === 0 ? `Person ${n}` : '', width: 64, height: 64 }))
      : [h('span', { class: 'hint' }, 'no picture yet')];
    const [first, last] = [clock(g.firstSeen, false), clock(g.lastSeen, false)];
    const seen = `Seen ${first === last ? `at ${first}` : `${first}–${last}`} on ${g.cameras.join(', ')}; ${g.appearances} appearance${g.appearances === 1 ? '' : 's'}, ${g.faces} face${g.faces === 1 ? '' : 's'} kept.`;
    return h('li', { class: 'group', 'data-group': g.id }, h('div', { class: 'thumbs' }, thumbs), h('p', {}, seen), form, sample);
  }

  /**
   * Shows (loading once) the faces naming the group would add, every one ticked; untick a stranger's.
   * @param {string} id
   * @param {HTMLElement} sample
   * @param {HTMLButtonElement} button
   * @param {number} n
   */
  async toggleSample(id, sample, button, n) {
    if (!sample.hidden) {
      sample.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      return;
    }
    if (!sample.dataset.loaded) {
      try {
        const { faces } = /** @type {{ faces: import('./types').UnknownFace[] }} */ (await api(`/v1/unknowns/${encodeURIComponent(id)}/faces`));
        fill(
          sample,
          h(
            'p',
            { class: 'hint sample-hint' },
            `Naming person ${n} adds these ${faces.length} face${faces.length === 1 ? '' : 's'}, the best and most varied of the group. Untick any that is not them.`,
          ),
          faces.map((f, i) =>
            h(
              'label',
              { class: 'face small' },
              h('input', { type: 'checkbox', value: f.id, checked: true }),
              f.thumbnail
                ? h('img', { src: f.thumbnail, alt: `Face ${i + 1} of person ${n}, ${f.camera} at ${clock(f.at, false)}`, width: 64, height: 64 })
                : h('span', { class: 'hint' }, `${f.camera} ${clock(f.at, false)}`),
            ),
          ),
        );
        sample.dataset.loaded = 'true';
      } catch (err) {
        say(this.status, `Could not read the faces of person ${n}: ${/** @type {Error} */ (err).message}`, 'error');
        return;
      }
    }
    sample.hidden = false;
    button.setAttribute('aria-expanded', 'true');
  }

  /**
   * @param {string} id
   * @param {string} name
   * @param {number} n
   * @param {string[] | undefined} faces the ticked faces of the sample, or undefined for the whole sample
   */
  async enroll(id, name, n, faces) {
    if (!name) return say(this.status, `Give person ${n} a name first.`, 'error');
    if (faces && faces.length === 0) return say(this.status, `Tick at least one face of person ${n}.`, 'error');
    say(this.status, `Adding ${name} to the model…`, 'busy');
    try {
      const answer = /** @type {import('./types').EnrollAnswer} */ (
        await api(`/v1/unknowns/${encodeURIComponent(id)}/enroll`, { method: 'POST', json: { name, ...(faces ? { faces } : {}) } })
      );
      fill(this.status, enrolledMessage(answer, this.news, this.status));
      this.status.dataset.kind = 'ok';
      this.news.dispatchEvent(new Event('model'));
      this.list.querySelector(`[data-group="${CSS.escape(id)}"]`)?.remove();
    } catch (err) {
      say(this.status, `${name} was not added: ${/** @type {Error} */ (err).message}`, 'error');
    }
  }

  /**
   * @param {string} id
   * @param {number} n
   */
  async dismiss(id, n) {
    await api(`/v1/unknowns/${encodeURIComponent(id)}`, { method: 'DELETE' }).catch(() => undefined);
    say(this.status, `Person ${n} forgotten.`, 'info');
    this.list.querySelector(`[data-group="${CSS.escape(id)}"]`)?.remove();
  }
}
