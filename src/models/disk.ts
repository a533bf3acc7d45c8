// The store's layout on disk: one folder per version, a pointer to the running one, a temp area.
import { cp, mkdir, readdir, readFile, rename, rm, stat, statfs, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { RecognizerError } from '../errors.js';
import { MANIFEST_FILE, manifestPath } from '../recognize/bundle-layout.js';

/** Where downloads and copies are assembled before they are renamed into place. */
export const INCOMING = '.incoming';
/**
 * Where bundles of the store's folder that were refused are set apart, each with a `refusal.json`
 * saying why: they are never listed as versions, never run, never counted toward `model.keep`.
 */
export const REFUSED = '.refused';
/** Refused bundles kept for someone to look at; older ones are deleted (pruned apart from versions). */
export const KEEP_REFUSED = 5;
/** Names the version that runs, so a restart comes back on it (and a rollback survives a reboot). */
export const ACTIVE_FILE = 'active.json';
/** Beside a refused bundle set apart: its refusal (code, reason, source, time). */
const REFUSAL_FILE = 'refusal.json';

/** A bundle folder held in the store. */
export interface HeldBundle {
  version: string;
  path: string;
  createdAt: string;
  /** When it arrived in the store; orders rollback candidates and pruning. */
  installedAt: number;
}

/** True when `dir` is itself one bundle rather than a store of bundles. */
export async function isBundle(dir: string): Promise<boolean> {
  return (await stat(manifestPath(dir)).catch(() => undefined)) !== undefined;
}

/** Every folder of `dir` holding a manifest with a version, newest arrival first. */
export async function listHeld(dir: string): Promise<HeldBundle[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const held: HeldBundle[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const manifest = manifestPath(path.join(dir, name));
    const info = await stat(manifest).catch(() => undefined);
    if (!info) continue;
    // Only what the store needs to list; the full check happens when the bundle is loaded.
    const parsed = await readFile(manifest, 'utf8').then((s) => JSON.parse(s) as { version?: unknown; createdAt?: unknown }).catch(() => ({}) as Record<string, unknown>);
    const version = typeof parsed.version === 'string' ? parsed.version : name;
    held.push({ version, path: path.join(dir, name), createdAt: typeof parsed.createdAt === 'string' ? parsed.createdAt : '', installedAt: info.mtimeMs });
  }
  return held.sort((a, b) => b.installedAt - a.installedAt);
}

export async function readActive(dir: string): Promise<string | undefined> {
  const raw = await readFile(path.join(dir, ACTIVE_FILE), 'utf8').catch(() => undefined);
  if (!raw) return undefined;
  try {
    const version = (JSON.parse(raw) as { version?: unknown }).version;
    return typeof version === 'string' ? version : undefined;
  } catch {
    return undefined;
  }
}

/** Written to a temp name and renamed, so a power cut leaves the old pointer or the new, never half. */
export async function writeActive(dir: string, version: string): Promise<void> {
  const tmp = path.join(dir, `.${ACTIVE_FILE}.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify({ version, activatedAt: new Date().toISOString() }) + '\n');
  await rename(tmp, path.join(dir, ACTIVE_FILE));
}

/** A fresh temp folder under the store's incoming area, on the same filesystem so rename is atomic. */
export async function incomingFolder(dir: string, version: string): Promise<string> {
  const folder = path.join(dir, INCOMING, `${version}-${process.pid}-${Date.now().toString(36)}`);
  await mkdir(folder, { recursive: true });
  return folder;
}

/** Moves a verified folder to `dir/<version>`; an existing folder of that version is replaced. */
export async function moveIntoPlace(dir: string, from: string, version: string): Promise<string> {
  const to = path.join(dir, version);
  if (path.resolve(from) === path.resolve(to)) return to;
  await rm(to, { recursive: true, force: true });
  await rename(from, to);
  // The manifest's mtime is the arrival time that pruning and listing order by.
  const now = new Date();
  await utimes(manifestPath(to), now, now);
  return to;
}

/**
 * Copies a bundle folder (a Greengrass artifact) into the incoming area, manifest last, after checking
 * that the copy leaves `reserve` bytes free.
 */
export async function copyToIncoming(dir: string, bundle: string, version: string, reserve: number): Promise<string> {
  const names = (await readdir(bundle)).filter((n) => n !== MANIFEST_FILE);
  const sizes = await Promise.all([...names, MANIFEST_FILE].map((n) => stat(path.join(bundle, n)).then((i) => i.size)));
  await ensureFreeSpace(dir, sizes.reduce((a, b) => a + b, 0), reserve);
  const folder = await incomingFolder(dir, version);
  for (const name of names) await cp(path.join(bundle, name), path.join(folder, name), { recursive: true });
  await cp(manifestPath(bundle), manifestPath(folder));
  return folder;
}

/** Refuses a download that would leave less than `reserve` bytes free on the store's filesystem. */
export async function ensureFreeSpace(dir: string, bytes: number, reserve: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (free - bytes < reserve) {
    throw new RecognizerError('MODEL_DISK_FULL', `not enough disk space for the bundle: ${bytes} bytes needed, ${free} free, ${reserve} kept in reserve`);
  }
}

/**
 * Deletes verified versions beyond the `keep` newest arrivals, never one named in `protect` (the
 * running one and the one before it). `verified`: versions that passed verification; a folder not
 * yet looked at (a copy still arriving) is neither counted nor deleted.
 */
export async function prune(dir: string, keep: number, protect: Set<string>, verified: ReadonlySet<string>): Promise<string[]> {
  const held = (await listHeld(dir)).filter((b) => verified.has(b.version));
  const removed: string[] = [];
  for (const bundle of held.slice(keep)) {
    if (protect.has(bundle.version)) continue;
    await rm(bundle.path, { recursive: true, force: true });
    removed.push(bundle.version);
  }
  return removed;
}

/**
 * Moves a refused bundle folder of the store to `dir/.refused/`, with its reason in `refusal.json`,
 * then deletes all but the newest {@link KEEP_REFUSED} of them. Returns where it went.
 */
export async function quarantine(dir: string, folder: string, refusal: object): Promise<string> {
  const apart = path.join(dir, REFUSED);
  await mkdir(apart, { recursive: true });
  const to = path.join(apart, `${path.basename(folder)}-${Date.now().toString(36)}`);
  await rename(folder, to);
  await writeFile(path.join(to, REFUSAL_FILE), JSON.stringify(refusal, null, 2) + '\n');
  const entries = await readdir(apart, { withFileTypes: true });
  const dated = await Promise.all(
    entries.filter((e) => e.isDirectory()).map(async (e) => ({ path: path.join(apart, e.name), at: (await stat(path.join(apart, e.name, REFUSAL_FILE)).catch(() => undefined))?.mtimeMs ?? 0 })),
  );
  for (const old of dated.sort((a, b) => b.at - a.at).slice(KEEP_REFUSED)) await rm(old.path, { recursive: true, force: true });
  return to;
}

/** Leftovers of downloads that a crash or a refusal interrupted; called before any download starts. */
export async function clearIncoming(dir: string): Promise<void> {
  await rm(path.join(dir, INCOMING), { recursive: true, force: true }).catch(() => undefined);
}

/**
 * The bundle that `dir` runs when the daemon starts on it: `dir` itself when it is one bundle, else
 * the store's active version, else its newest; undefined for a store holding none (or no folder).
 */
export async function activeBundle(dir: string): Promise<string | undefined> {
  if (await isBundle(dir)) return dir;
  const held = await listHeld(dir);
  const active = await readActive(dir);
  return (held.find((b) => b.version === active) ?? held[0])?.path;
}
