#!/usr/bin/env node
// Entry point: the command line goes to its command (src/cli/dispatch.ts); `start` runs the daemon here.
import { commandConfig } from './cli/command.js';
import { dispatch } from './cli/dispatch.js';
import { redactConfig } from './config/schema.js';
import { Daemon } from './daemon.js';
import { GreengrassComponent, openGreengrass } from './publish/greengrass-component.js';
import { isRecognizerError } from './errors.js';
import { createLogger } from './logger.js';
import { SdNotify } from './util/sd-notify.js';
import { packageVersion } from './version.js';

function fail(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`actor-recognizer: ${isRecognizerError(err) ? `${err.code}: ` : ''}${message.split('\n')[0]}\n`);
  process.exit(isRecognizerError(err, 'USAGE') ? 2 : 1);
}

async function runDaemon(configFile: string | undefined): Promise<void> {
  // As a Greengrass component, its configuration (read over IPC) is a source too; outside, undefined.
  const component = await openGreengrass({ file: configFile, env: process.env });
  const config = component?.start.config ?? commandConfig(configFile);
  const log = createLogger({ level: config.log.level });
  log.info({ version: packageVersion(), config: redactConfig(config), greengrass: Boolean(component) }, 'starting');
  const greengrass = component && new GreengrassComponent(component.ipc, component.start, log.child({ component: 'greengrass' }));
  const daemon = new Daemon(config, log, { greengrass });
  const systemd = new SdNotify({ log: log.child({ component: 'systemd' }) });
  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal }, 'stopping');
    systemd.stopping(`stopping on ${signal}`);
    // Shorter than systemd's and Greengrass's stop timeouts, so we exit on our own terms.
    setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 8000).unref();
    daemon.stop().then(
      () => {
        log.info('stopped');
        log.flush();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    systemd.status('starting');
    await daemon.start();
  } catch (err) {
    systemd.status(`could not start: ${err instanceof Error ? err.message : String(err)}`);
    log.fatal({ err }, 'could not start');
    await greengrass?.reportErrored();
    await daemon.stop().catch(() => undefined);
    throw err;
  }
  const address = daemon.address();
  // Ready only now: the API listens and the cameras are started, so `systemctl start` returns on a
  // working daemon. A SIGTERM during start-up has already said STOPPING=1; READY=1 would undo it.
  if (!shuttingDown) systemd.ready(`serving on ${address?.host}:${address?.port}`);
}

dispatch(process.argv.slice(2), { runDaemon, createDaemon: (config, log) => new Daemon(config, log) }).catch(fail);
