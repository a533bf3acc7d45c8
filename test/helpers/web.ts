// The web page's tests: headless Chromium through playwright-core, and a daemon on a store of versions.
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { loadConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/logger.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined. */
export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH): skipped`;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A store of versions (model.dir) holding a copy of `bundle`, so that enrollment and rollback work. */
export async function storeWith(bundle: string): Promise<{ dir: string; version: string }> {
  const version = (JSON.parse(await readFile(path.join(bundle, 'manifest.json'), 'utf8')) as { version: string }).version;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-store-'));
  await cp(bundle, path.join(dir, version), { recursive: true });
  return { dir, version };
}

/** A daemon on loopback with the embedded broker on a free port; `env` adds ACTOR_RECOGNIZER_* settings. */
export async function startDaemon(env: Record<string, string>): Promise<{ daemon: Daemon; base: string }> {
  const config = loadConfig({ env: { ACTOR_RECOGNIZER_API_PORT: '0', ACTOR_RECOGNIZER_MQTT_PORT: '0', ...env } });
  const daemon = new Daemon(config, silentLogger());
  try {
    await daemon.start();
  } catch (err) {
    await daemon.stop();
    throw err;
  }
  return { daemon, base: `http://127.0.0.1:${daemon.address()!.port}` };
}
