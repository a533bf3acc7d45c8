// The training report: metrics.json and a self-contained report.html with inline SVG plots.
import type { TestMetrics } from './heads.js';
import type { History } from './mlp-head.js';
import type { OperatingPoint } from './thresholds.js';

export interface ReportData {
  version: string;
  head: string;
  actors: string[];
  /** Confusion counts: rows are the true actor, columns the predicted one (test split, or validation). */
  confusion: number[][];
  /** Validation faces' best scores, and impostors' (held-out actors and unknown people). */
  genuine: number[];
  impostor: number[];
  threshold: number;
  /** Actors whose threshold is above the default. */
  perActorThreshold?: Record<string, number>;
  test?: TestMetrics | null;
  operatingPoint?: OperatingPoint;
  histories?: { withDropout: History; withoutDropout: History };
  /** Each actor's photos in the train, validation and test splits, in `actors` order. */
  split?: { train: number[]; validation: number[]; test: number[] };
}

const W = 640;
const H = 280;
/** Room for the axes' tick labels: left, right, top, bottom. */
const PAD = { left: 52, right: 20, top: 34, bottom: 46 };

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** About `count` round values from `lo` to `hi` (steps of 1, 2 or 5 times a power of ten). */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function label(v: number, step: number): string {
  const decimals = Math.max(0, Math.min(4, -Math.floor(Math.log10(step || 1))));
  return v.toFixed(decimals);
}

/** A line chart: `values[i]` sits at x = from + (to - from) · i / (n - 1); ticks on both axes, and an optional vertical marker. */
function chart(
  id: string,
  title: string,
  series: { label: string; values: number[]; colour: string; dashed?: boolean }[],
  axes: { x: { from: number; to: number; label: string }; y: string; marker?: { at: number; label: string } },
): string {
  const all = series.flatMap((s) => s.values);
  const min = Math.min(0, ...all);
  const max = Math.max(...all, 1e-9);
  const { from, to } = axes.x;
  const px = (x: number) => PAD.left + ((x - from) / (to - from || 1)) * (W - PAD.left - PAD.right);
  const py = (y: number) => H - PAD.bottom - ((y - min) / (max - min || 1)) * (H - PAD.top - PAD.bottom);
  const line = (s: (typeof series)[number]) =>
    s.values.length === 0
      ? ''
      : `<polyline fill="none" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${s.values.map((v, i) => `${px(from + ((to - from) * i) / Math.max(1, s.values.length - 1)).toFixed(1)},${py(v).toFixed(1)}`).join(' ')}"/>`;
  const xt = ticks(from, to, 6);
  const yt = ticks(min, max, 5);
  const xStep = (xt[1] ?? xt[0]! + 1) - xt[0]!;
  const yStep = (yt[1] ?? yt[0]! + 1) - yt[0]!;
  const xTicks = xt
    .map(
      (v) =>
        `<line class="tick" x1="${px(v)}" y1="${H - PAD.bottom}" x2="${px(v)}" y2="${H - PAD.bottom + 5}" stroke="#444"/><text class="tick-label" x="${px(v)}" y="${H - PAD.bottom + 17}" font-size="11" text-anchor="middle">${label(v, xStep)}</text>`,
    )
    .join('');
  const yTicks = yt
    .map(
      (v) =>
        `<line class="grid" x1="${PAD.left}" y1="${py(v)}" x2="${W - PAD.right}" y2="${py(v)}" stroke="#e4e4e4"/><line class="tick" x1="${PAD.left - 5}" y1="${py(v)}" x2="${PAD.left}" y2="${py(v)}" stroke="#444"/><text class="tick-label" x="${PAD.left - 8}" y="${py(v) + 4}" font-size="11" text-anchor="end">${label(v, yStep)}</text>`,
    )
    .join('');
  const marker = axes.marker
    ? `<g class="threshold"><line x1="${px(axes.marker.at)}" y1="${PAD.top}" x2="${px(axes.marker.at)}" y2="${H - PAD.bottom}" stroke="#111" stroke-width="1.5" stroke-dasharray="3 3"/><text x="${px(axes.marker.at) + 4}" y="${PAD.top + 10}" font-size="11" stroke="#fff" stroke-width="3" paint-order="stroke">${escape(axes.marker.label)}</text></g>`
    : '';
  // The legend runs along the top, above the plot, so it never hides a line.
  let lx = 8;
  const legend = series
    .map((s) => {
      const item = `<line x1="${lx}" y1="12" x2="${lx + 18}" y2="12" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/><text x="${lx + 22}" y="16" font-size="12">${escape(s.label)}</text>`;
      lx += 34 + s.label.length * 6.6;
      return item;
    })
    .join('');
  return `<figure id="${id}"><figcaption>${escape(title)}</figcaption><svg role="img" aria-label="${escape(title)}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
${yTicks}<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="#444"/><line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${H - PAD.bottom}" stroke="#444"/>${xTicks}
<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 8}" font-size="12" text-anchor="middle">${escape(axes.x.label)}</text>
<text x="12" y="${(PAD.top + H - PAD.bottom) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 12 ${(PAD.top + H - PAD.bottom) / 2})">${escape(axes.y)}</text>
${series.map(line).join('\n')}${marker}${legend}</svg></figure>`;
}

/** Histogram counts of `values` over [lo, hi] in `bins` bins, as fractions. */
function histogram(values: number[], lo: number, hi: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)))]!++;
  return counts.map((c) => c / Math.max(1, values.length));
}

/** Per actor: precision and recall from the confusion matrix. */
export function precisionRecall(actors: string[], confusion: number[][]): Record<string, { precision: number; recall: number; n: number }> {
  return Object.fromEntries(
    actors.map((actor, i) => {
      const row = confusion[i]!;
      const n = row.reduce((a, b) => a + b, 0);
      const predicted = confusion.reduce((a, r) => a + r[i]!, 0);
      return [actor, { precision: predicted ? row[i]! / predicted : 0, recall: n ? row[i]! / n : 0, n }];
    }),
  );
}

export function renderReport(data: ReportData): string {
  const sections: string[] = [];
  if (data.histories) {
    const { withDropout, withoutDropout } = data.histories;
    // The original report's two runs, each on the training and the validation photos.
    const runs = (train: keyof History, val: keyof History) => [
      { label: 'train, dropout', values: withDropout[train], colour: '#1f77b4' },
      { label: 'validation, dropout', values: withDropout[val], colour: '#1f77b4', dashed: true },
      { label: 'train, no dropout', values: withoutDropout[train], colour: '#d62728' },
      { label: 'validation, no dropout', values: withoutDropout[val], colour: '#d62728', dashed: true },
    ];
    const epochs = { from: 1, to: withDropout.accuracy.length, label: 'epoch' };
    sections.push(chart('accuracy', 'Accuracy per epoch, with and without dropout', runs('accuracy', 'valAccuracy'), { x: epochs, y: 'accuracy' }));
    sections.push(chart('loss', 'Loss per epoch, with and without dropout', runs('loss', 'valLoss'), { x: epochs, y: 'loss' }));
  }
  const lo = Math.min(...data.genuine, ...data.impostor, data.threshold) - 0.01;
  const hi = Math.max(...data.genuine, ...data.impostor, data.threshold) + 0.01;
  const bins = 40;
  const bin = (hi - lo) / bins;
  const threshold = { at: data.threshold, label: `threshold ${data.threshold.toFixed(4)}` };
  sections.push(
    chart(
      'scores',
      `Genuine and impostor scores (threshold ${data.threshold.toFixed(4)})`,
      [
        { label: 'genuine', values: histogram(data.genuine, lo, hi, bins), colour: '#2ca02c' },
        { label: 'impostor', values: histogram(data.impostor, lo, hi, bins), colour: '#d62728' },
      ],
      // Each bin's value at its centre.
      { x: { from: lo + bin / 2, to: hi - bin / 2, label: 'best score' }, y: 'fraction of faces', marker: threshold },
    ),
  );
  const steps = Array.from({ length: 50 }, (_, i) => lo + ((hi - lo) * i) / 49);
  sections.push(
    chart(
      'acceptance',
      'Accepted genuine against rejected impostor faces, as the threshold rises',
      [
        {
          label: 'genuine accepted',
          values: steps.map((t) => data.genuine.filter((s) => s >= t).length / Math.max(1, data.genuine.length)),
          colour: '#2ca02c',
        },
        {
          label: 'impostors rejected',
          values: steps.map((t) => data.impostor.filter((s) => s < t).length / Math.max(1, data.impostor.length)),
          colour: '#d62728',
        },
      ],
      { x: { from: lo, to: hi, label: 'threshold' }, y: 'fraction of faces', marker: threshold },
    ),
  );
  sections.unshift(summary(data));
  sections.push(confusionFigure(data.actors, data.confusion));
  const pr = precisionRecall(data.actors, data.confusion);
  const count = (part: 'train' | 'validation' | 'test', i: number) => String(data.split?.[part][i] ?? '—');
  const rows = data.actors.map((a, i) => {
    const r = pr[a]!;
    return `<tr><td>${escape(a)}</td><td>${count('train', i)}</td><td>${count('validation', i)}</td><td>${count('test', i)}</td><td>${(r.precision * 100).toFixed(1)}%</td><td>${(r.recall * 100).toFixed(1)}%</td><td>${(data.perActorThreshold?.[a] ?? data.threshold).toFixed(4)}</td></tr>`;
  });
  sections.push(
    `<table id="per-actor"><caption>Per actor: photos in each split, and precision and recall on the test split</caption><thead><tr><th>actor</th><th>train</th><th>validation</th><th>test</th><th>precision</th><th>recall</th><th>threshold</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>actor model ${escape(data.version)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:64rem;color:#111}figure{margin:1.5rem 0;overflow-x:auto}figcaption{font-weight:600;margin-bottom:.5rem}table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}</style></head>
<body><h1>Actor model ${escape(data.version)}</h1><p>Head: ${escape(data.head)}; ${data.actors.length} actors; threshold ${data.threshold.toFixed(4)}.</p>
${sections.join('\n')}</body></html>\n`;
}

/**
 * The confusion matrix as a grid with the actors' names on both axes and each count in its cell:
 * the diagonal (right) in blue, mistakes in red, darker for more.
 */
function confusionFigure(actors: string[], confusion: number[][]): string {
  const n = actors.length;
  const cell = Math.max(18, Math.min(32, Math.floor(560 / n)));
  const font = Math.min(12, cell - 6);
  // Names are measured roughly: 0.6 em a character.
  const margin = Math.ceil(Math.max(...actors.map((a) => a.length)) * font * 0.6) + 12;
  const size = cell * n;
  const width = margin + size + 8;
  const height = margin + size + 8;
  const max = Math.max(1, ...confusion.flat());
  const cells = confusion.flatMap((row, i) =>
    row.map((v, j) => {
      const x = margin + j * cell;
      const y = margin + i * cell;
      const colour = i === j ? '31,119,180' : '214,39,40';
      const fill = v ? `rgba(${colour},${(0.15 + (0.85 * v) / max).toFixed(3)})` : '#f4f4f4';
      const text = v
        ? `<text class="count" x="${x + cell / 2}" y="${y + cell / 2 + font / 3}" font-size="${font}" text-anchor="middle" fill="${v / max > 0.5 ? '#fff' : '#111'}">${v}</text>`
        : '';
      return `<rect x="${x}" y="${y}" width="${cell - 1}" height="${cell - 1}" fill="${fill}"><title>${escape(actors[i]!)} → ${escape(actors[j]!)}: ${v}</title></rect>${text}`;
    }),
  );
  const rowNames = actors.map(
    (a, i) =>
      `<text class="row-name" x="${margin - 6}" y="${margin + i * cell + cell / 2 + font / 3}" font-size="${font}" text-anchor="end">${escape(a)}</text>`,
  );
  // Column names run upwards from above each column.
  const columnNames = actors.map((a, j) => {
    const x = margin + j * cell + cell / 2 + font / 3;
    return `<text class="column-name" x="${x}" y="${margin - 6}" font-size="${font}" transform="rotate(-90 ${x} ${margin - 6})">${escape(a)}</text>`;
  });
  return `<figure id="confusion"><figcaption>Confusion matrix on the test split: rows are the actor, columns the best candidate (whatever the threshold), each cell the number of photos</figcaption><svg role="img" aria-label="Confusion matrix" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${rowNames.join('')}${columnNames.join('')}${cells.join('')}</svg></figure>`;
}

function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** The figures a reader looks for first: the test split, and the operating point on the calibration data. */
function summary(data: ReportData): string {
  const rows: [string, string][] = [];
  if (data.test) {
    rows.push(['test faces named correctly', `${percent(data.test.top1)} of ${data.test.faces}`]);
    rows.push(['test faces, right actor whatever the threshold', percent(data.test.closedSetTop1)]);
    rows.push(['test faces of held-out actors rejected', `${percent(data.test.impostorsRejected)} of ${data.test.impostorFaces}`]);
  }
  const p = data.operatingPoint;
  if (p) {
    rows.push(['operating point', p.method === 'target-rejection' ? `reject ${percent(p.targetRejection ?? 0)} of each impostor's faces` : 'equal error']);
    rows.push(['calibration impostor faces rejected', `${percent(p.impostorsRejected)} of ${p.impostors} (${p.identities} people)`]);
    rows.push(['validation faces named correctly', `${percent(p.genuineAccepted)} of ${p.genuine}`]);
  }
  return `<table id="summary"><caption>Summary</caption><tbody>${rows.map(([k, v]) => `<tr><th scope="row">${escape(k)}</th><td>${escape(v)}</td></tr>`).join('')}</tbody></table>`;
}
