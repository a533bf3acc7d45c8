// systemd's sd_notify protocol (readiness, watchdog, status) without a native addon.
import { writeSync } from 'node:fs';
import type { Logger } from '../logger.js';

/**
 * The variable that names the inherited file descriptor of a datagram socket already connected to
 * `$NOTIFY_SOCKET`. Node has no AF_UNIX datagram sockets, and the usual packages for them
 * (`unix-dgram`, `sd-notify`, the one zigbee2mqtt uses) compile C++ at install time, which the
 * packaged zip for the Pi cannot do. So `scripts/sd-notify-exec.py` connects the socket and then
 * exec()s node in the same process: every datagram is sent by the unit's main PID, which is what
 * `NotifyAccess=main` demands. A spawned `systemd-notify` would be a different PID, refused under
 * `NotifyAccess=main` and racing the cgroup lookup under `NotifyAccess=all`.
 */
export const NOTIFY_FD_VARIABLE = 'NOTIFY_SOCKET_FD';

/** What {@link SdNotify} needs from the process; tests pass their own. */
export interface SdNotifyOptions {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Writes one datagram; defaults to `fs.writeSync` on the inherited descriptor. */
  write?: (fd: number, data: Buffer) => void;
  pid?: number;
}

/**
 * Tells systemd how the daemon is doing. Every method does nothing when the process is not a
 * `Type=notify` service (no `NOTIFY_SOCKET`), so the daemon calls them unconditionally.
 */
export class SdNotify {
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: Logger | undefined;
  private readonly write: (fd: number, data: Buffer) => void;
  private readonly pid: number;
  private fd: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failed = false;

  constructor(options: SdNotifyOptions = {}) {
    this.env = options.env ?? process.env;
    this.log = options.log;
    this.write = options.write ?? ((fd, data) => void writeSync(fd, data));
    this.pid = options.pid ?? process.pid;
  }

  /** True when notifications go somewhere. */
  get enabled(): boolean {
    return this.descriptor() !== undefined;
  }

  /** The watchdog interval systemd asked for, halved as sd_watchdog_enabled(3) advises; undefined when off. */
  watchdogIntervalMs(): number | undefined {
    const usec = Number(this.env.WATCHDOG_USEC);
    if (!Number.isFinite(usec) || usec <= 0) return undefined;
    // WATCHDOG_PID names the process the watchdog is meant for; a child that inherited it must not ping.
    const owner = this.env.WATCHDOG_PID;
    if (owner !== undefined && owner !== '' && Number(owner) !== this.pid) return undefined;
    return Math.max(1, Math.floor(usec / 2000));
  }

  /** READY=1 with a status line, then watchdog pings for as long as the process runs. */
  ready(status?: string): void {
    this.send({ READY: '1', ...(status === undefined ? {} : { STATUS: status }) });
    const interval = this.watchdogIntervalMs();
    if (interval === undefined || this.timer || !this.enabled) return;
    // A timer that fires proves the event loop is not stuck, which is what the watchdog is for.
    this.timer = setInterval(() => this.send({ WATCHDOG: '1' }), interval);
    this.timer.unref();
    this.log?.debug({ intervalMs: interval }, 'systemd watchdog pings started');
  }

  /** A one-line status for `systemctl status`. */
  status(text: string): void {
    this.send({ STATUS: text });
  }

  /** STOPPING=1: systemd then knows the exit that follows is wanted. Ends the watchdog pings. */
  stopping(status?: string): void {
    this.stopWatchdog();
    this.send({ STOPPING: '1', ...(status === undefined ? {} : { STATUS: status }) });
  }

  /** Ends the watchdog pings without telling systemd anything. Safe to call twice. */
  stopWatchdog(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private descriptor(): number | undefined {
    if (this.fd !== undefined) return this.fd;
    if (!this.env.NOTIFY_SOCKET) return undefined;
    const fd = Number(this.env[NOTIFY_FD_VARIABLE]);
    if (!Number.isInteger(fd) || fd < 3) {
      if (!this.failed) {
        this.failed = true;
        this.log?.warn(
          `NOTIFY_SOCKET is set but ${NOTIFY_FD_VARIABLE} is not: start node through scripts/sd-notify-exec.py, or systemd will time out waiting for READY=1`,
        );
      }
      return undefined;
    }
    this.fd = fd;
    return fd;
  }

  private send(fields: Record<string, string>): void {
    const fd = this.descriptor();
    if (fd === undefined) return;
    // A newline inside a value would start a new assignment; sd_notify(3) allows none.
    const text = Object.entries(fields)
      .map(([key, value]) => `${key}=${value.replace(/[\r\n]+/g, ' ')}`)
      .join('\n');
    try {
      this.write(fd, Buffer.from(text, 'utf8'));
    } catch (err) {
      // Notifications help systemd; they are never a reason for the daemon to fail. Warn once.
      if (!this.failed) this.log?.warn({ err }, 'could not notify systemd');
      this.failed = true;
    }
  }
}
