// @ts-check
// Talks to the daemon's API: the key (asked for once, kept in localStorage), JSON, images, server-sent events.
const KEY_STORAGE = 'actor-recognizer.apiKey';

/** An API answer that was not 2xx, with the API's own code and message. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * The page's element with this id, checked to be of the type the caller expects (a page without it
 * is a bug in index.html, better named here than as a null dereference later).
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {{ new (): T; prototype: T }} [type] e.g. HTMLInputElement
 * @returns {T}
 */
export function byId(id, type) {
  const el = document.getElementById(id);
  const want = type ?? HTMLElement;
  if (!(el instanceof want)) throw new Error(`the page has no ${want.name} #${id}`);
  return /** @type {T} */ (el);
}

/** @type {Promise<void> | null} */
let asking = null;

/**
 * Opens the key dialog once, however many requests were refused meanwhile; resolves when a key is saved.
 * @param {boolean} refused
 * @returns {Promise<void>}
 */
function askForKey(refused) {
  asking ??= new Promise((resolve) => {
    const dialog = byId('key-dialog', HTMLDialogElement);
    const input = byId('key-input', HTMLInputElement);
    const error = byId('key-error');
    error.textContent = refused ? 'That key was refused: check it and try again.' : '';
    input.value = '';
    dialog.addEventListener(
      'close',
      () => {
        const key = input.value.trim();
        if (key) localStorage.setItem(KEY_STORAGE, key);
        asking = null;
        resolve();
      },
      { once: true },
    );
    // A dialog that cannot be dismissed without a key: Escape would leave the page empty.
    dialog.addEventListener('cancel', (e) => e.preventDefault(), { once: true });
    dialog.showModal();
    input.focus();
  });
  return asking;
}

/**
 * fetch() with the key; a 401 asks for the key and tries again.
 * @param {string} path
 * @param {RequestInit & { headers?: Record<string, string> }} [options]
 * @returns {Promise<Response>}
 */
export async function request(path, options = {}) {
  for (;;) {
    const key = localStorage.getItem(KEY_STORAGE);
    const headers = { ...(options.headers ?? {}), ...(key ? { 'x-api-key': key } : {}) };
    const res = await fetch(path, { ...options, headers });
    if (res.status !== 401) return res;
    await res.body?.cancel();
    await askForKey(Boolean(key));
  }
}

/**
 * @typedef {object} ApiOptions
 * @property {string} [method] GET unless given
 * @property {unknown} [json] a body sent as JSON
 * @property {BodyInit} [body] a body sent as it is (an image), with `type` as its content type
 * @property {string} [type]
 * @property {AbortSignal} [signal]
 */

/**
 * JSON in, JSON out; throws ApiError with the API's message. The answer is what the route's schema
 * says (web/types.d.ts): callers name its type.
 * @param {string} path
 * @param {ApiOptions} [options]
 * @returns {Promise<unknown>}
 */
export async function api(path, { method = 'GET', json, body, type, signal } = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (json !== undefined) headers['content-type'] = 'application/json';
  else if (type) headers['content-type'] = type;
  const res = await request(path, { method, headers, body: json !== undefined ? JSON.stringify(json) : body, signal });
  if (res.status === 204) return null;
  /** @type {{ error?: { code?: string; message?: string } } | null} */
  const answer = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, answer?.error?.code ?? 'HTTP_' + res.status, answer?.error?.message ?? res.statusText);
  return answer;
}

/**
 * The server-sent events of /v1/events, read with fetch (EventSource cannot send the key).
 * Calls `onEvent(name, data)` per event; resolves when the stream ends, rejects when it fails.
 * @param {(name: string, data: unknown) => void} onEvent
 * @param {AbortSignal} [signal]
 * @param {() => void} [onOpen]
 * @returns {Promise<void>}
 */
export async function readEvents(onEvent, signal, onOpen) {
  const res = await request('/v1/events', { signal, headers: { accept: 'text/event-stream' } });
  if (!res.ok || !res.body) throw new ApiError(res.status, 'EVENTS', 'the event stream could not be opened');
  onOpen?.();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length === 0) continue;
      try {
        onEvent(name, JSON.parse(data.join('\n')));
      } catch (err) {
        console.warn('an event could not be handled', name, err);
      }
    }
  }
}

/**
 * Formats an ISO time as the local clock, e.g. 21:04:09.
 * @param {string | null | undefined} iso
 * @param {boolean} [seconds]
 */
export function clock(iso, seconds = true) {
  if (!iso) return '—';
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}) });
}

/**
 * @typedef {Node | string | number | null | undefined | false} Child
 * A child of {@link h} or {@link fill}: a node or text; null, undefined and false are left out.
 */

/**
 * Creates an element with attributes and children; text is always text, never HTML.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | null | undefined | EventListener>} [attrs] `on…`: a listener
 * @param {(Child | Child[])[]} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (typeof value === 'function') {
      if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    } else if (name === 'class') el.className = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) el.append(child instanceof Node ? child : String(child));
  return el;
}

/** Runs `load` now and every `ms` after, while a section is shown. */
export class Repeat {
  /**
   * @param {() => Promise<void>} load
   * @param {number} ms
   */
  constructor(load, ms) {
    this.load = load;
    this.ms = ms;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.timer = undefined;
  }

  start() {
    void this.load();
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.load(), this.ms);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * A term and its value, for a <dl>.
 * @param {string} term
 * @param {string} value
 */
export function fact(term, value) {
  return h('div', {}, h('dt', {}, term), h('dd', {}, value));
}

/**
 * Replaces an element's children.
 * @param {Element} el
 * @param {(Child | Child[])[]} children
 */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat().flatMap((c) => (c === null || c === undefined || c === false ? [] : [c instanceof Node ? c : String(c)])));
}

/**
 * Shows a message in a status line; `kind` is '', 'ok', 'error', 'info' or 'busy'.
 * @param {HTMLElement} el
 * @param {string} text
 * @param {string} [kind]
 */
export function say(el, text, kind = '') {
  el.textContent = text;
  el.dataset.kind = kind;
}
