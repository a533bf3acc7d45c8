// The README and docs/ link to each other by file and heading: every relative link must land.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGES = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a Markdown file's headings (outside code blocks). */
function anchors(file: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    else if (!fenced && /^#{1,6} /.test(line)) out.add(slug(line.replace(/^#+ /, '')));
  }
  return out;
}

t.test('every relative link of the README and docs/ names a file and a heading that exist', async (t) => {
  let links = 0;
  for (const page of PAGES) {
    const text = readFileSync(path.join(ROOT, page), 'utf8')
      .replace(/```[\s\S]*?```/g, '')
      .replace(/`[^`\n]*`/g, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!target || /^[a-z]+:/.test(target)) continue;
      links++;
      const [file = '', anchor] = target.split('#');
      const resolved = file ? path.join(ROOT, path.dirname(page), file) : path.join(ROOT, page);
      if (!existsSync(resolved)) {
        t.fail(`${page}: ${target}: no such file`);
        continue;
      }
      if (anchor !== undefined) t.ok(anchors(resolved).has(anchor), `${page}: ${target}: the heading exists`);
    }
  }
  t.ok(links > 20, `${links} links checked`);
});

t.test('the README maps every page of docs/', async (t) => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  for (const page of PAGES.filter((p) => p.startsWith('docs/'))) t.ok(readme.includes(`](${page})`), `README links ${page}`);
});
