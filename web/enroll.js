// Enroll: find faces in photos or a camera's frame, tick the person's, name them, add them to the model.
import { api, fill, h, say } from './api.js';

export class Enroll {
  constructor(news) {
    this.news = news;
    this.faces = document.getElementById('enroll-faces');
    this.found = document.getElementById('enroll-found-status');
    this.result = document.getElementById('enroll-result');
    this.count = 0;
  }

  start() {
    document.getElementById('enroll-photos').addEventListener('change', (e) => void this.fromPhotos([...e.target.files]));
    document.getElementById('enroll-from-camera').addEventListener('click', () => void this.fromCamera());
    document.getElementById('enroll-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.submit();
    });
  }

  async show() {
    const { cameras } = await api('/v1/cameras').catch(() => ({ cameras: [] }));
    const select = document.getElementById('enroll-camera');
    const chosen = select.value;
    fill(select, cameras.map((c) => h('option', { value: c.id, selected: c.id === chosen }, c.id)));
    document.getElementById('enroll-camera-field').hidden = cameras.length === 0;
  }

  async fromPhotos(files) {
    let found = 0;
    for (const [i, file] of files.entries()) {
      say(this.found, `Looking for faces in photo ${i + 1} of ${files.length}…`);
      try {
        const answer = await api('/v1/enroll/faces', { method: 'POST', body: file, type: file.type || 'image/jpeg' });
        found += answer.faces.length;
        this.add(answer.faces, file.name, true);
      } catch (err) {
        this.faces.append(h('p', { class: 'face-error' }, `${file.name}: ${err.message}`));
      }
    }
    say(this.found, `${found} face${found === 1 ? '' : 's'} found in ${files.length} photo${files.length === 1 ? '' : 's'}. Untick any that is not this person.`, found ? 'ok' : 'error');
    document.getElementById('enroll-photos').value = '';
  }

  async fromCamera() {
    const camera = document.getElementById('enroll-camera').value;
    if (!camera) return;
    say(this.found, `Looking for faces on ${camera}…`);
    try {
      const answer = await api(`/v1/enroll/cameras/${encodeURIComponent(camera)}/faces`, { method: 'POST' });
      this.add(answer.faces, `camera ${camera}`, false);
      say(this.found, answer.faces.length ? `${answer.faces.length} face${answer.faces.length === 1 ? '' : 's'} found on ${camera}. Tick the person's.` : `No face on ${camera} right now.`, answer.faces.length ? 'ok' : 'error');
    } catch (err) {
      say(this.found, `No faces from ${camera}: ${err.message}`, 'error');
    }
  }

  /**
   * Adds found faces as boxes to tick. A photo of the person starts with its largest face ticked (a
   * co-star is usually smaller); a camera frame shows anyone, so nothing is ticked for you.
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
    const name = document.getElementById('enroll-name').value.trim();
    const ids = [...this.faces.querySelectorAll('input[type=checkbox]:checked')].map((c) => c.value);
    if (ids.length === 0) return say(this.result, 'Tick at least one face of the person first.', 'error');
    if (!name) {
      document.getElementById('enroll-name').focus();
      return say(this.result, 'Give the person a name first.', 'error');
    }
    const button = document.getElementById('enroll-submit');
    button.disabled = true;
    say(this.result, `Adding ${name} to the model…`);
    try {
      const answer = await api('/v1/enroll', { method: 'POST', json: { name, faces: ids } });
      fill(this.result, enrolledMessage(answer, this.news, this.result));
      this.result.dataset.kind = 'ok';
      for (const id of ids) this.faces.querySelector(`input[value="${CSS.escape(id)}"]`)?.closest('label')?.remove();
      document.getElementById('enroll-name').value = '';
      say(this.found, '');
      this.news.dispatchEvent(new Event('model'));
    } catch (err) {
      say(this.result, `${name} was not added: ${err.message}`, 'error');
    } finally {
      button.disabled = false;
    }
  }
}

/** Faces in a group photo: the largest is most likely the person the photo is of. */
function largest(faces) {
  return faces.reduce((a, b) => (b.box.width * b.box.height > a.box.width * a.box.height ? b : a));
}

/** A button that runs `previous` again: what undoes an enrollment or a removal. */
export function undoButton(previous, news, status) {
  const undo = h('button', { type: 'button', class: 'link' }, `Undo (run ${previous} again)`);
  undo.addEventListener('click', async () => {
    try {
      await api('/v1/model/activate', { method: 'POST', json: { version: previous } });
      say(status, `${previous} runs again.`, 'ok');
      news.dispatchEvent(new Event('model'));
    } catch (err) {
      say(status, `Could not roll back: ${err.message}`, 'error');
    }
  });
  return undo;
}

/** "Added X from N faces; version V runs now" with a button that runs the previous version again. */
export function enrolledMessage(answer, news, status) {
  const undo = undoButton(answer.previous, news, status);
  const similar = answer.nearest && answer.nearest.alike ? ` Note: ${answer.actor} looks a lot like ${answer.nearest.actor}.` : '';
  return [`${answer.updated ? 'Added more faces of' : 'Added'} ${answer.actor} (${answer.faces} face${answer.faces === 1 ? '' : 's'}). Version ${answer.version} runs now.${similar} `, undo];
}
