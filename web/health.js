// @ts-check
// Health: readiness, memory, MQTT, and per camera its frame rates, drops, latency and restarts.
import { api, byId, clock, fact, fill, h, Repeat } from './api.js';

const REFRESH_MS = 5000;

export class Health {
  constructor() {
    this.repeat = new Repeat(() => this.load(), REFRESH_MS);
  }

  show() {
    this.repeat.start();
  }

  hide() {
    this.repeat.stop();
  }

  async load() {
    const facts = byId('health-facts');
    /** @type {import('./types').StatusAnswer} */
    let s;
    try {
      s = /** @type {import('./types').StatusAnswer} */ (await api('/v1/status'));
    } catch (err) {
      fill(facts, fact('Daemon', `not answering: ${/** @type {Error} */ (err).message}`));
      return;
    }
    const mqtt = s.mqtt
      ? `${s.mqtt.connected ? 'connected' : 'disconnected'}${s.mqtt.url ? ` to ${s.mqtt.url}` : ''}: ${s.mqtt.published} sent, ${s.mqtt.failed} failed, ${s.mqtt.dropped} dropped`
      : 'not started';
    fill(
      facts,
      h('div', { class: s.ready ? 'good' : 'bad' }, h('dt', {}, 'Ready'), h('dd', {}, s.ready ? 'yes' : `no: ${s.reasons.join('; ')}`)),
      fact('Up for', duration(s.uptimeSeconds)),
      fact('Memory', `${s.memory.rssMiB} MiB (JavaScript heap ${s.memory.heapUsedMiB} MiB)`),
      fact('Model', s.model?.version ?? 'none'),
      h('div', { class: s.mqtt?.connected ? 'good' : 'bad' }, h('dt', {}, 'MQTT'), h('dd', {}, mqtt)),
    );
    fill(
      byId('health-cameras'),
      s.cameras.length
        ? s.cameras.map((c) => {
            const dropped = c.framesIn ? Math.round((c.framesDropped / c.framesIn) * 100) : 0;
            return h(
              'article',
              { class: 'health-camera', 'aria-label': `Camera ${c.id}` },
              h('h4', {}, c.id, ' ', h('span', { class: 'badge', 'data-state': c.state }, c.state)),
              c.reason ? h('p', { class: 'reason' }, c.reason) : null,
              h(
                'dl',
                { class: 'facts compact' },
                fact('Frames a second', `${c.fpsIn} read, ${c.fpsProcessed} analysed (${c.fpsConfigured} asked)`),
                fact('Frames', `${c.framesIn} read, ${c.framesProcessed} analysed, ${c.framesDropped} dropped (${dropped}%)`),
                fact('Latency', c.latencyMs ? `${c.latencyMs.mean} ms on average, ${c.latencyMs.max} ms at worst (last 30 frames)` : '—'),
                fact('Restarts', String(c.restarts)),
                fact('Last frame', clock(c.lastFrameAt)),
              ),
            );
          })
        : [h('p', { class: 'hint' }, 'No camera is configured.')],
    );
  }
}

/** @param {number} seconds */
function duration(seconds) {
  const d = Math.floor(seconds / 86400);
  const hours = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d ? `${d} d ${hours} h` : hours ? `${hours} h ${m} min` : `${m} min ${seconds % 60} s`;
}
