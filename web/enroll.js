// @ts-check
// Enroll: find faces in photos or a camera's frame, tick the person's, name them, add them to the model.
import { api, byId, fill, h, say } from './api.js';

/** @typedef {import('./types').FoundFace} FoundFace */
/** @typedef {import('./types').EnrollAnswer} EnrollAnswer */

export class Enroll {
  /** @param {EventTarget} news page-wide news: `model` when the model changed */
  constructor(news) {
    this.news = news;
    this.faces = byId('enroll-faces');
    this.found = byId('enroll-found-status');
    this.result = byId('enroll-result');
    this.count = 0;
  }

  start() {
    const photos = byId('enroll-photos', HTMLInputElement);
    photos.addEventListener('change', () => void this.fromPhotos([...(photos.files ?? [])]));
    byId('enroll-from-camera').addEventListener('click', () => void this.fromCamera());
    byId('enroll-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.submit();
    });
  }

  async show() {
    const { cameras } = /** @type {{ cameras: import('./types').Camera[] }} */ (await api('/v1/cameras').catch(() => ({ cameras: [] })));
    const select = byId('enroll-camera', HTMLSelectElement);
    const chosen = select.value;
    fill(
      select,
      cameras.map((c) => h('option', { value: c.id, selected: c.id === chosen }, c.id)),
    );
    byId('enroll-camera-field').hidden = cameras.length === 0;
  }

  /** @param {File[]} files */
  async fromPhotos(files) {
    let found = 0;
    for (const [i, file] of files.entries()) {
      say(this.found, `Looking for faces in photo ${i + 1} of ${files.length}…`);
      try {
        const answer = /** @type {{ faces: FoundFace[] }} */ (await api('/v1/enroll/faces', { method: 'POST', body: file, type: file.type || 'image/jpeg' }));
        found += answer.faces.length;
        this.add(answer.faces, file.name, true);
      } catch (err) {
        this.faces.append(h('p', { class: 'face-error' }, `${file.name}: ${/** @type {Error} */ (err).message}`));
      }
    }
    say(
      this.found,
      `${found} face${found === 1 ? '' : 's'} found in ${files.length} photo${files.length === 1 ? '' : 's'}. Untick any that is not this person.`,
      found ? 'ok' : 'error',
    );
    byId('enroll-photos', HTMLInputElement).value = '';
  }

  async fromCamera() {
    const camera = byId('enroll-camera', HTMLSelectElement).value;
    if (!camera) return;
    say(this.found, `Looking for faces on ${camera}…`);
    try {
      const answer = /** @type {{ faces: FoundFace[] }} */ (await api(`/v1/enroll/cameras/${encodeURIComponent(camera)}/faces`, { method: 'POST' }));
      this.add(answer.faces, `camera ${camera}`, false);
      say(
        this.found,
        answer.faces.length
          ? `${answer.faces.length} face${answer.faces.length === 1 ? '' : 's'} found on ${camera}. Tick the person's.`
          : `No face on ${camera} right now.`,
        answer.faces.length ? 'ok' : 'error',
      );
    } catch (err) {
      say(this.found, `No faces from ${camera}: ${/** @type {Error} */ (err).message}`, 'error');
    }
  }

  /**
   * Adds found faces as boxes to tick. A photo of the person starts with its largest face ticked (a
   * co-star is usually smaller); a camera frame shows anyone, so nothing is ticked for you.
   * @param {FoundFace[]} faces
   * @param {string} from
   * @param {boolean} tickLargest
   */
  add(faces, from, tickLargest) {
    if (faces.length === 0) {
      this.faces.append(h('p', { class: 'face-error' }, `${from}: no face found`));
      return;
    }
    const pick = tickLargest ? largest(faces) : null;
    for (const face of faces) {
      const n = ++this.count;
      const known = face.actor ? `looks like ${face.actor} (${Math.round(face.confidence * 100)}%)` : 'not in the model';
      this.faces.append(
        h(
          'label',
          { class: 'face' },
          h('input', { type: 'checkbox', value: face.id, checked: face === pick }),
          h('img', { src: face.thumbnail, alt: `Face ${n}, from ${from}`, width: 96, height: 96 }),
          h('span', { class: face.actor ? 'face-note known' : 'face-note' }, known),
        ),
      );
    }
  }

  async submit() {
    const name = byId('enroll-name', HTMLInputElement).value.trim();
    const ids = [.../** @type {NodeListOf<HTMLInputElement>} */ (this.faces.querySelectorAll('input[type=checkbox]:checked'))].map((c) => c.value);
    if (ids.length === 0) return say(this.result, 'Tick at least one face of the person first.', 'error');
    if (!name) {
      byId('enroll-name').focus();
      return say(this.result, 'Give the person a name first.', 'error');
    }
    const button = byId('enroll-submit', HTMLButtonElement);
    button.disabled = true;
    say(this.result, `Adding ${name} to the model…`);
    try {
      const answer = /** @type {EnrollAnswer} */ (await api('/v1/enroll', { method: 'POST', json: { name, faces: ids } }));
      fill(this.result, enrolledMessage(answer, this.news, this.result));
      this.result.dataset.kind = 'ok';
      for (const id of ids)
        this.faces
          .querySelector(`input[value="${CSS.escape(id)}"]`)
          ?.closest('label')
          ?.remove();
      byId('enroll-name', HTMLInputElement).value = '';
      say(this.found, '');
      this.news.dispatchEvent(new Event('model'));
    } catch (err) {
      say(this.result, `${name} was not added: ${/** @type {Error} */ (err).message}`, 'error');
    } finally {
      button.disabled = false;
    }
  }
}

/**
 * Faces in a group photo: the largest is most likely the person the photo is of.
 * @param {FoundFace[]} faces
 */
function largest(faces) {
  return faces.reduce((a, b) => (b.box.width * b.box.height > a.box.width * a.box.height ? b : a));
}

/**
 * A button that runs `previous` again: what undoes an enrollment or a removal.
 * @param {string} previous
 * @param {EventTarget} news
 * @param {HTMLElement} status
 */
export function undoButton(previous, news, status) {
  const undo = h('button', { type: 'button', class: 'link' }, `Undo (run ${previous} again)`);
  undo.addEventListener('click', async () => {
    try {
      await api('/v1/model/activate', { method: 'POST', json: { version: previous } });
      say(status, `${previous} runs again.`, 'ok');
      news.dispatchEvent(new Event('model'));
    } catch (err) {
      say(status, `Could not roll back: ${/** @type {Error} */ (err).message}`, 'error');
    }
  });
  return undo;
}

/**
 * "Added X from N faces; version V runs now" with a button that runs the previous version again.
 * @param {EnrollAnswer} answer
 * @param {EventTarget} news
 * @param {HTMLElement} status
 * @returns {[string, HTMLButtonElement]}
 */
export function enrolledMessage(answer, news, status) {
  const undo = undoButton(answer.previous, news, status);
  const similar = answer.nearest && answer.nearest.alike ? ` Note: ${answer.actor} looks a lot like ${answer.nearest.actor}.` : '';
  return [
    `${answer.updated ? 'Added more faces of' : 'Added'} ${answer.actor} (${answer.faces} face${answer.faces === 1 ? '' : 's'}). Version ${answer.version} runs now.${similar} `,
    undo,
  ];
}
