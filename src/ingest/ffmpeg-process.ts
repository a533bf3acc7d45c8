// One ffmpeg run: spawn it, learn the frame size from stderr, cut stdout into frames by byte count.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { Socket, type SocketConstructorOpts } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { RgbImage } from '../vision/types.js';
import { ffmpegArgs, hasCredentials, inputList, LineRing, parseDuration, parseOutputSize, type SourceSpec } from './ffmpeg-args.js';

/** A frame as ingest hands it on. */
export interface Frame {
  image: RgbImage;
  /** 0, 1, 2… within one ffmpeg run. */
  index: number;
  /** Seconds from the start of the stream (index / fps: the fps filter emits a constant rate). */
  time: number;
  /** Date.now() when its last byte arrived: the start of frame-to-publish latency. */
  receivedAt: number;
}

export interface FfmpegExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines ffmpeg wrote to stderr. */
  stderr: string;
}

const live = new Set<ChildProcess>();
/** Input lists not yet deleted, removed on exit too. */
const secretDirs = new Set<string>();
let exitHookInstalled = false;
/** Recycled frames kept at most: what a consumer reading a few frames ahead hands back. */
const MAX_SPARE = 16;

/** A crash or process.exit() must not leave ffmpeg behind: kill what is still running, synchronously. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
    for (const dir of secretDirs) rmSync(dir, { recursive: true, force: true });
  });
}

export class FfmpegProcess {
  readonly exited: Promise<FfmpegExit>;
  /** The input's duration in seconds, once ffmpeg has said (files only). */
  duration: number | undefined;
  size: { width: number; height: number } | undefined;
  private readonly child: ChildProcess;
  /** ffmpeg's stdout as this process reads it: a FIFO read straight into frames, or the pipe of stdio. */
  private readonly output: Socket | Readable;
  /** Where the FIFO's bytes go before the frame size is known (copied into `pending`). */
  private readonly scratch = new Uint8Array(64 * 1024);
  private readonly ring = new LineRing(40);
  private header = '';
  /** Output before ffmpeg has said the frame size. */
  private pending: Buffer[] = [];
  /** The frame being filled from the pipe, and how many of its bytes have come. */
  private frame: Uint8Array | undefined;
  private filled = 0;
  private index = 0;
  /** Frames handed back with {@link recycle}, filled again before a new buffer is made. */
  private readonly spare: Uint8Array[] = [];

  /** A private folder holding the input list of a URL with credentials, until ffmpeg has opened it. */
  private secretDir: string | undefined;

  constructor(
    ffmpegPath: string,
    private readonly spec: SourceSpec,
    private readonly onFrame: (frame: Frame) => void,
  ) {
    installExitHook();
    let list: string | undefined;
    if (hasCredentials(spec.url)) {
      // mkdtemp makes the folder 0700; the list is 0600 too. Deleted once ffmpeg has opened the input.
      this.secretDir = mkdtempSync(path.join(os.tmpdir(), 'actor-recognizer-'));
      secretDirs.add(this.secretDir);
      list = path.join(this.secretDir, 'input.ffconcat');
      writeFileSync(list, inputList(spec), { mode: 0o600 });
    }
    const fifo = openFifo();
    try {
      this.child = spawn(ffmpegPath, ffmpegArgs(spec, { inputList: list }), { stdio: ['ignore', fifo?.write ?? 'pipe', 'pipe'] });
    } catch (err) {
      if (fifo) closeSync(fifo.read);
      throw err;
    } finally {
      // ffmpeg has its own copy of the write end: once it exits, the reader sees the end of the frames.
      if (fifo) closeSync(fifo.write);
    }
    live.add(this.child);
    if (spec.background && this.child.pid !== undefined) lowestPriority(this.child.pid);
    const stderr = this.child.stderr!;
    stderr.setEncoding('utf8');
    stderr.on('data', (chunk: string) => this.onStderr(chunk));
    if (fifo) {
      // `onread` is a Socket constructor option (Node's net.js) that @types/node lists for connect() only.
      const options: SocketConstructorOpts & { onread: { buffer: () => Uint8Array; callback: (n: number, buffer: Uint8Array) => void } } = {
        fd: fifo.read,
        readable: true,
        writable: false,
        onread: { buffer: () => this.readTarget(), callback: (n, buffer) => this.onRead(n, buffer) },
      };
      this.output = new Socket(options);
    } else {
      this.output = this.child.stdout!;
      this.output.on('data', (chunk: Buffer) => this.onStdout(chunk));
    }
    // Every frame is delivered before `exited` resolves: the FIFO may hold the last one after ffmpeg has gone.
    const outputClosed = new Promise<void>((resolve) => {
      this.output.once('close', () => resolve());
      this.output.on('error', () => undefined);
    });
    this.exited = new Promise((resolve) => {
      let spawnError: Error | undefined;
      this.child.once('error', (err) => (spawnError = err));
      this.child.once('close', (code, signal) => {
        live.delete(this.child);
        this.forgetSecret();
        let stderr = spawnError ? `${spawnError.message}\n${this.ring.text()}` : this.ring.text();
        // ffmpeg names the input list where it would name the URL: say the URL (the caller redacts it).
        if (list) stderr = stderr.split(list).join(spec.url);
        void outputClosed.then(() => resolve({ code, signal, stderr }));
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Stops reading (backpressure reaches ffmpeg through the pipe), for consumers that want every frame. */
  pause(): void {
    this.output.pause();
  }

  resume(): void {
    this.output.resume();
  }

  /**
   * Gives back a frame's pixels that nothing refers to any more (`scan`, once a frame is analysed), to be
   * filled with a later frame of the same size. A new 1.2 MB buffer for every frame (854×480) kept V8's
   * old generation collecting: `scan` of the two film scenes, 3 times each, spent 0.81 s in garbage
   * collection (43–45 mark-compacts in 4 scans) and 0.51 s with the frames reused (23–29).
   */
  recycle(data: Uint8Array): void {
    if (this.spare.length < MAX_SPARE) this.spare.push(data);
  }

  /** SIGTERM, then SIGKILL if ffmpeg has not exited within `graceMs`. */
  async stop(graceMs = 2000): Promise<FfmpegExit> {
    const running = this.child.exitCode === null && this.child.signalCode === null;
    if (running) this.child.kill('SIGTERM');
    // No more frames: a paused reader would otherwise keep the FIFO, and `exited`, open for ever.
    this.output.destroy();
    if (running) {
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      const exit = await this.exited;
      clearTimeout(timer);
      return exit;
    }
    return this.exited;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** A recycled buffer of `bytes`, else a new one (a recycled frame of another size is dropped). */
  private newFrame(bytes: number): Uint8Array {
    for (let spare = this.spare.pop(); spare; spare = this.spare.pop()) if (spare.length === bytes) return spare;
    return new Uint8Array(bytes);
  }

  /** Deletes the input list: ffmpeg has read it (it says "Input #0") or exited. */
  private forgetSecret(): void {
    if (!this.secretDir) return;
    rmSync(this.secretDir, { recursive: true, force: true });
    secretDirs.delete(this.secretDir);
    this.secretDir = undefined;
  }

  private onStderr(chunk: string): void {
    this.ring.push(chunk);
    if (this.secretDir && /Input #0|Output #0/.test(chunk)) this.forgetSecret();
    if (this.size) return;
    // Only the header matters for parsing; cap it so a chatty stream cannot grow it without end.
    if (this.header.length < 64 * 1024) this.header += chunk;
    this.duration ??= parseDuration(this.header);
    this.size = parseOutputSize(this.header);
    if (this.size) this.drain();
  }

  private onStdout(chunk: Buffer): void {
    if (this.size) this.take(chunk);
    else this.pending.push(chunk);
  }

  /** Where the FIFO's next bytes go: the rest of the frame being filled, once the frame size is known. */
  private readTarget(): Uint8Array {
    if (!this.size) return this.scratch;
    this.frame ??= this.newFrame(this.size.width * this.size.height * 3);
    return this.frame.subarray(this.filled);
  }

  /** `n` bytes came from the FIFO into `buffer` (the last {@link readTarget}). */
  private onRead(n: number, buffer: Uint8Array): void {
    // Into the scratch buffer: before the size was known (it may be known by now).
    if (buffer === this.scratch) return this.onStdout(Buffer.from(buffer.subarray(0, n)));
    this.filled += n;
    if (this.filled === this.frame!.length) this.completeFrame();
  }

  /** The frame size is known: the bytes that came before it go into frames. */
  private drain(): void {
    const pending = this.pending;
    this.pending = [];
    for (const chunk of pending) this.take(chunk);
  }

  /**
   * Copies a chunk of the pipe (64 KiB) into the frame being filled at once: one copy of each byte,
   * where joining a frame's chunks (19 for 854×480) and copying the frame out of the join made two, and
   * no chunk is kept until its frame is complete.
   */
  private take(chunk: Uint8Array): void {
    const { width, height } = this.size!;
    const frameBytes = width * height * 3;
    for (let offset = 0; offset < chunk.length;) {
      this.frame ??= this.newFrame(frameBytes);
      const n = Math.min(frameBytes - this.filled, chunk.length - offset);
      this.frame.set(chunk.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === frameBytes) this.completeFrame();
    }
  }

  private completeFrame(): void {
    const { width, height } = this.size!;
    const data = this.frame!;
    this.frame = undefined;
    this.filled = 0;
    const index = this.index++;
    this.onFrame({ image: { data, width, height }, index, time: index / this.spec.fps, receivedAt: Date.now() });
  }
}

/**
 * A FIFO for ffmpeg's stdout, its path already gone: the write end for the child, the read end for
 * this process, which reads each frame's bytes straight into the frame's buffer. Node's stdio pipe
 * hands over a new 64 KiB buffer per read, copied into the frame and then collected: ingest alone
 * (the Avengers scene's 76 frames at 854×480, no analysis) took 180–365 ms of this process's CPU
 * that way, and 66–87 ms through the FIFO (2026-11-30, nine runs each). Undefined when a FIFO cannot
 * be made (no mkfifo, no room in the temporary folder): stdout is then Node's pipe.
 */
function openFifo(): { read: number; write: number } | undefined {
  let dir: string | undefined;
  try {
    dir = mkdtempSync(path.join(os.tmpdir(), 'actor-recognizer-frames-'));
    const file = path.join(dir, 'frames');
    execFileSync('mkfifo', ['-m', '600', file], { stdio: 'ignore' });
    // Non-blocking: the read end opens before there is a writer; then the write end opens at once.
    const read = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      return { read, write: openSync(file, constants.O_WRONLY) };
    } catch {
      closeSync(read);
      return undefined;
    }
  } catch {
    return undefined;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** nice 10 for a child that should mostly use what the rest leaves (SourceSpec.background); best effort. */
function lowestPriority(pid: number): void {
  try {
    os.setPriority(pid, os.constants.priority.PRIORITY_BELOW_NORMAL);
  } catch {
    // Not permitted or already gone: it then decodes at normal priority, only slower for the rest.
  }
}
