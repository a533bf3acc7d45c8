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
}

const W = 560;
const H = 260;
const PAD = 40;

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function polyline(values: number[], min: number, max: number, colour: string, dashed = false): string {
  if (values.length === 0) return '';
  const points = values.map((v, i) => `${PAD + (i / Math.max(1, values.length - 1)) * (W - 2 * PAD)},${H - PAD - ((v - min) / (max - min || 1)) * (H - 2 * PAD)}`);
  return `<polyline fill="none" stroke="${colour}" stroke-width="2"${dashed ? ' stroke-dasharray="6 4"' : ''} points="${points.join(' ')}"/>`;
}

function chart(id: string, title: string, series: { label: string; values: number[]; colour: string; dashed?: boolean }[], xLabel: string): string {
  const all = series.flatMap((s) => s.values);
  const min = Math.min(0, ...all);
  const max = Math.max(...all, 1e-9);
  const legend = series.map((s, i) => `<text x="${W - PAD - 150}" y="${H - PAD - 10 - 14 * (series.length - 1 - i)}" fill="${s.colour}" font-size="12">${escape(s.label)}</text>`).join('');
  return `<figure id="${id}"><figcaption>${escape(title)}</figcaption><svg role="img" aria-label="${escape(title)}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<line x1="${PAD}" y1="${H - PAD}" x2="${W - PAD}" y2="${H - PAD}" stroke="#444"/><line x1="${PAD}" y1="${PAD / 2}" x2="${PAD}" y2="${H - PAD}" stroke="#444"/>
<text x="${W / 2}" y="${H - 8}" font-size="12" text-anchor="middle">${escape(xLabel)}</text>
<text x="4" y="${PAD + 4}" font-size="11">${max.toFixed(2)}</text><text x="4" y="${H - PAD}" font-size="11">${min.toFixed(2)}</text>
${series.map((s) => polyline(s.values, min, max, s.colour, s.dashed)).join('\n')}${legend}</svg></figure>`;
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
    sections.push(chart('accuracy', 'Accuracy per epoch, with and without dropout', runs('accuracy', 'valAccuracy'), 'epoch'));
    sections.push(chart('loss', 'Loss per epoch, with and without dropout', runs('loss', 'valLoss'), 'epoch'));
  }
  const lo = Math.min(...data.genuine, ...data.impostor, data.threshold) - 0.01;
  const hi = Math.max(...data.genuine, ...data.impostor, data.threshold) + 0.01;
  sections.push(chart('scores', `Genuine and impostor scores (threshold ${data.threshold.toFixed(4)})`, [
    { label: 'genuine', values: histogram(data.genuine, lo, hi, 40), colour: '#2ca02c' },
    { label: 'impostor', values: histogram(data.impostor, lo, hi, 40), colour: '#d62728' },
  ], `score, ${lo.toFixed(2)} to ${hi.toFixed(2)}`));
  const steps = Array.from({ length: 50 }, (_, i) => lo + ((hi - lo) * i) / 49);
  sections.push(chart('acceptance', 'Accepted genuine against rejected impostor faces, as the threshold rises', [
    { label: 'genuine accepted', values: steps.map((t) => data.genuine.filter((s) => s >= t).length / Math.max(1, data.genuine.length)), colour: '#2ca02c' },
    { label: 'impostors rejected', values: steps.map((t) => data.impostor.filter((s) => s < t).length / Math.max(1, data.impostor.length)), colour: '#d62728' },
  ], 'threshold'));
  sections.unshift(summary(data));
  const pr = precisionRecall(data.actors, data.confusion);
  const max = Math.max(1, ...data.confusion.flat());
  const cell = Math.max(6, Math.min(24, Math.floor(480 / data.actors.length)));
  const size = cell * data.actors.length;
  const rects = data.confusion.flatMap((row, i) => row.map((v, j) => (v ? `<rect x="${j * cell}" y="${i * cell}" width="${cell}" height="${cell}" fill="rgba(31,119,180,${(0.15 + 0.85 * v / max).toFixed(3)})"><title>${escape(data.actors[i]!)} → ${escape(data.actors[j]!)}: ${v}</title></rect>` : '')));
  sections.push(`<figure id="confusion"><figcaption>Confusion matrix (rows: the actor, columns: the answer, on the test split)</figcaption><svg role="img" aria-label="Confusion matrix" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}"><rect width="${size}" height="${size}" fill="#f4f4f4"/>${rects.join('')}</svg></figure>`);
  const rows = Object.entries(pr).map(([a, r]) => `<tr><td>${escape(a)}</td><td>${r.n}</td><td>${(r.precision * 100).toFixed(1)}%</td><td>${(r.recall * 100).toFixed(1)}%</td><td>${(data.perActorThreshold?.[a] ?? data.threshold).toFixed(4)}</td></tr>`);
  sections.push(`<table id="per-actor"><caption>Per-actor precision and recall</caption><thead><tr><th>actor</th><th>photos</th><th>precision</th><th>recall</th><th>threshold</th></tr></thead><tbody>${rows.join('')}</tbody></table>`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>actor model ${escape(data.version)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;max-width:64rem;color:#111}figure{margin:1.5rem 0}figcaption{font-weight:600;margin-bottom:.5rem}table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:left}</style></head>
<body><h1>Actor model ${escape(data.version)}</h1><p>Head: ${escape(data.head)}; ${data.actors.length} actors; threshold ${data.threshold.toFixed(4)}.</p>
${sections.join('\n')}</body></html>\n`;
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
