// @ts-check
// The page's entry: one section shown at a time (by the URL's #hash), the live event stream, the sections.
import { byId, readEvents, say } from './api.js';
import { Live } from './live.js';
import { ModelView } from './model.js';
import { Enroll } from './enroll.js';
import { Unknowns } from './unknowns.js';
import { Health } from './health.js';

/** Page-wide news: `appearance`, `actors`, `model` and `modelRefused` from the daemon, `model` too when this page changed the model. */
const news = new EventTarget();
const views = {
  live: new Live(news),
  model: new ModelView(news),
  enroll: new Enroll(news),
  unknown: new Unknowns(news),
  health: new Health(),
};
/** @type {import('./types').View | undefined} */
let current;

function show() {
  const wanted = location.hash.slice(1);
  const name = wanted in views ? /** @type {keyof typeof views} */ (wanted) : 'live';
  for (const section of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('[data-view]'))) section.hidden = section.id !== name;
  for (const link of document.querySelectorAll('nav a')) {
    if (link.getAttribute('href') === `#${name}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (current && current !== views[name]) current.hide?.();
  const view = views[name];
  current = view;
  view.show?.();
}

/** Reads /v1/events for as long as the page is open, reconnecting with a growing pause. */
async function stream() {
  const conn = byId('conn');
  let pause = 1000;
  for (;;) {
    try {
      await readEvents(
        (name, data) => news.dispatchEvent(new CustomEvent(name, { detail: data })),
        undefined,
        () => {
          conn.dataset.state = 'live';
          say(conn, 'Live');
          pause = 1000;
          news.dispatchEvent(new Event('connected'));
        },
      );
    } catch {
      // Refused or cut: shown below, tried again.
    }
    conn.dataset.state = 'down';
    say(conn, 'Reconnecting…');
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 30_000);
  }
}

addEventListener('hashchange', () => {
  show();
  // Each section is a page of its own: it starts at its top, not where the browser put the anchor.
  scrollTo(0, 0);
  byId('main').focus({ preventScroll: true });
});
document.addEventListener('visibilitychange', () => (document.hidden ? current?.hide?.() : current?.show?.()));

await views.live.start();
views.enroll.start();
views.model.start();
show();
scrollTo(0, 0);
void stream();
