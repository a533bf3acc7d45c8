// The training report renders in a real browser: every plot is drawn, the summary and tables are there.
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { renderReport, type ReportData } from '../src/train/report.js';
import { browserMissing, launchBrowser } from './helpers/web.js';

const epochs = 12;
const curve = (from: number, to: number) => Array.from({ length: epochs }, (_, i) => from + ((to - from) * i) / (epochs - 1));
const history = (end: number) => ({ accuracy: curve(0.3, end), loss: curve(2, 0.2), valAccuracy: curve(0.25, end - 0.05), valLoss: curve(2.1, 0.4) });

const data: ReportData = {
  version: '20261127-000000-abcdef12',
  head: 'mlp-softmax',
  actors: ['Ben Affleck', 'Elton John', 'Jerry Seinfeld'],
  confusion: [
    [5, 0, 0],
    [1, 4, 0],
    [0, 0, 5],
  ],
  genuine: [0.97, 0.95, 0.99, 0.91, 0.88, 0.96],
  impostor: [0.4, 0.55, 0.62, 0.71, 0.35, 0.8],
  threshold: 0.85,
  perActorThreshold: { 'Elton John': 0.9 },
  test: { faces: 15, top1: 0.87, closedSetTop1: 0.93, impostorFaces: 15, impostorsRejected: 0.93 },
  operatingPoint: {
    method: 'target-rejection',
    threshold: 0.85,
    targetRejection: 0.85,
    impostorsRejected: 0.9,
    identitiesRejected: 1,
    genuineAccepted: 0.9,
    impostors: 6,
    identities: 3,
    genuine: 6,
  },
  histories: { withDropout: history(0.95), withoutDropout: history(0.99) },
  split: { train: [8, 9, 10], validation: [2, 2, 3], test: [5, 5, 5] },
};

const missing = browserMissing();
if (missing) {
  t.plan(0, missing);
} else {
  t.test('report.html in headless Chromium: each plot drawn, figures and tables present', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-report-'));
    const file = path.join(dir, 'report.html');
    await writeFile(file, renderReport(data));
    const browser = await launchBrowser();
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(pathToFileURL(file).href);
    for (const id of ['accuracy', 'loss', 'scores', 'acceptance', 'confusion']) {
      const drawn = await page.evaluate((id) => {
        const svg = document.querySelector(`figure#${id} svg`);
        if (!svg) return null;
        const box = svg.getBoundingClientRect();
        // The marks themselves: lines of a chart or cells of the matrix, with a real size on screen.
        const marks = [...svg.querySelectorAll('polyline, rect')].filter((m) => {
          const b = m.getBoundingClientRect();
          return b.width > 1 && b.height > 1;
        });
        return { width: box.width, height: box.height, marks: marks.length };
      }, id);
      t.ok(drawn && drawn.width >= 50 && drawn.height >= 50, `${id}: an svg on screen (${JSON.stringify(drawn)})`);
      t.ok(drawn && drawn.marks >= (id === 'confusion' ? 5 : 2), `${id}: its marks are drawn`);
    }
    for (const id of ['accuracy', 'loss', 'scores', 'acceptance']) {
      const axes = await page.evaluate((id) => {
        const labels = [...document.querySelectorAll(`figure#${id} text.tick-label`)].map((t) => ({
          text: t.textContent ?? '',
          x: Number(t.getAttribute('x')),
          y: Number(t.getAttribute('y')),
        }));
        const bottom = Math.max(...labels.map((l) => l.y));
        return {
          x: labels.filter((l) => l.y === bottom).length,
          y: labels.filter((l) => l.y !== bottom).length,
          numbers: labels.every((l) => Number.isFinite(Number(l.text))),
        };
      }, id);
      t.ok(axes.x >= 3 && axes.y >= 3 && axes.numbers, `${id}: numbered ticks on both axes (${JSON.stringify(axes)})`);
    }
    for (const id of ['scores', 'acceptance']) {
      // The marker stands where the axis's own ticks put 0.85.
      const marker = await page.evaluate((id) => {
        const line = document.querySelector(`figure#${id} g.threshold line`);
        const labels = [...document.querySelectorAll(`figure#${id} text.tick-label[text-anchor="middle"]`)].map((t) => ({
          v: Number(t.textContent),
          x: Number(t.getAttribute('x')),
        }));
        if (!line || labels.length < 2) return null;
        const [a, b] = [labels[0]!, labels.at(-1)!];
        return {
          x: Number(line.getAttribute('x1')),
          expected: a.x + ((0.85 - a.v) / (b.v - a.v)) * (b.x - a.x),
          text: document.querySelector(`figure#${id} g.threshold text`)?.textContent,
        };
      }, id);
      t.ok(marker && Math.abs(marker.x - marker.expected) < 1, `${id}: the threshold is marked at 0.85 on the axis (${JSON.stringify(marker)})`);
      t.equal(marker?.text, 'threshold 0.8500', `${id}: the marker says so`);
    }
    const matrix = await page.evaluate(() => ({
      rows: [...document.querySelectorAll('figure#confusion text.row-name')].map((t) => t.textContent),
      columns: [...document.querySelectorAll('figure#confusion text.column-name')].map((t) => t.textContent),
      counts: [...document.querySelectorAll('figure#confusion text.count')].map((t) => t.textContent),
      visible: [...document.querySelectorAll('figure#confusion text')].every((t) => {
        const b = t.getBoundingClientRect();
        const svg = document.querySelector('figure#confusion svg')!.getBoundingClientRect();
        return b.width > 0 && b.left >= svg.left - 0.5 && b.top >= svg.top - 0.5 && b.right <= svg.right + 0.5 && b.bottom <= svg.bottom + 0.5;
      }),
    }));
    t.same(matrix.rows, data.actors, 'the confusion matrix names its rows');
    t.same(matrix.columns, data.actors, 'and its columns');
    t.same(matrix.counts, ['5', '1', '4', '5'], 'each non-zero cell shows its count, row by row');
    t.ok(matrix.visible, 'every name and count lies inside the drawing');
    const lines = await page.locator('figure#accuracy polyline').count();
    t.equal(lines, 4, 'accuracy: train and validation, with and without dropout');
    t.match(await page.locator('table#summary').innerText(), /test faces named correctly\s+87\.0% of 15/);
    t.equal(await page.locator('table#per-actor tbody tr').count(), 3, 'a row per actor');
    t.match(await page.locator('table#per-actor thead').innerText(), /actor\s+train\s+validation\s+test\s+precision\s+recall\s+threshold/);
    t.match(
      await page.locator('table#per-actor').innerText(),
      /Elton John\s+9\s+2\s+5\s+100\.0%\s+80\.0%\s+0\.9000/,
      'train, validation and test photos per actor',
    );
    t.same(errors, [], 'no script errors');
    await page.screenshot({ path: path.join(process.env.WEB_SHOTS ?? dir, 'report.png'), fullPage: true });
  });
}
