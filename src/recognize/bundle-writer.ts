// Writes a model bundle: its files, then manifest.json with each file's sha256 and size, last.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MANIFEST_FILE, manifestPath } from './bundle-layout.js';
import { BUNDLE_FORMAT, sha256, type Manifest } from './manifest.js';

export type ManifestBody = Omit<Manifest, 'format' | 'files'>;

/** Writes `files` and the manifest into `dir`. The manifest goes last, so its presence means done. */
export async function writeBundle(dir: string, body: ManifestBody, files: Record<string, Uint8Array | string>): Promise<Manifest> {
  await mkdir(dir, { recursive: true });
  const entries: Manifest['files'] = {};
  for (const [name, content] of Object.entries(files)) {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    await writeFile(path.join(dir, name), bytes);
    entries[name] = { sha256: sha256(bytes), size: bytes.length };
  }
  const manifest: Manifest = { format: BUNDLE_FORMAT, ...body, files: entries };
  const tmp = path.join(dir, `.${MANIFEST_FILE}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(manifest, null, 2) + '\n');
  await rename(tmp, manifestPath(dir));
  return manifest;
}
