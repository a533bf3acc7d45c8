// The ffmpeg command line for a camera, and what we read back from ffmpeg's stderr.
import { redactUrl } from '../config/schema.js';

/** What ffmpeg needs to know about one source. */
export interface SourceSpec {
  url: string;
  fps: number;
  maxWidth: number;
  /** Restart a file at its end. */
  loop?: boolean;
  /**
   * Pace a file at its own frame rate, as a live camera would deliver it. Off for `scan`, which
   * reads as fast as the machine allows.
   */
  realtime?: boolean;
  /**
   * Decode in the gaps the inference leaves (`scan`): one decoding thread at nice 10. onnxruntime's
   * pool threads wait for each other at every operator, so a decoder that takes a core from one of
   * them stalls the whole network: on two cores, SSD took 2.2 times as long beside a default ffmpeg
   * decoding the same video (and beside a single-threaded one at nice 0), 1.0–1.1 times beside one
   * at nice 10 or 19 (measured 2026-11-28); nice 10 still gets a share on a machine loaded by others.
   * A live camera keeps the default: it must keep up with its stream. It also skips decoding the
   * frames no other frame refers to (`-skip_frame noref`: B-frames of most encodes), which the
   * sampling at a few frames a second rarely needs: 0.66 of the decoding time on the Avengers scene,
   * and the same appearances and footage scores on both film scenes (a sample then shows the
   * decoded frame before its time, at most a frame or two earlier).
   */
  background?: boolean;
}

export type SourceKind = 'rtsp' | 'http' | 'device' | 'file';

export function sourceKind(url: string): SourceKind {
  if (/^rtsps?:\/\//i.test(url)) return 'rtsp';
  if (/^https?:\/\//i.test(url)) return 'http';
  if (url.startsWith('/dev/video')) return 'device';
  return 'file';
}

/** The protocol options of a network source: flags on the command line, or `option` lines of an input list. */
function protocolOptions(kind: SourceKind): [string, string][] {
  // UDP loses packets on Wi-Fi and through NAT; TCP is what every camera supports.
  if (kind === 'rtsp')
    return [
      ['rtsp_transport', 'tcp'],
      ['timeout', '10000000'],
    ];
  if (kind === 'http')
    return [
      ['reconnect', '1'],
      ['reconnect_streamed', '1'],
      ['reconnect_delay_max', '5'],
    ];
  return [];
}

/** Whether a URL carries a secret (user:password, a token parameter) that must not be on a command line. */
export function hasCredentials(url: string): boolean {
  return redactUrl(url) !== url;
}

/**
 * An ffconcat list of one entry: the URL with its protocol options. ffmpeg reads it from a file
 * (`inputList` of {@link ffmpegArgs}), so a URL with credentials never appears on ffmpeg's command
 * line, which every local user can read in `ps` and /proc (issue 16). ffmpeg takes no URL from the
 * environment or a pipe, and RTSP has no option to give the password apart from the URL.
 */
export function inputList(spec: SourceSpec): string {
  const quoted = `'${spec.url.replace(/'/g, "'\\''")}'`;
  const options = protocolOptions(sourceKind(spec.url)).map(([key, value]) => `option ${key} ${value}\n`);
  return `ffconcat version 1.0\nfile ${quoted}\n${options.join('')}`;
}

/** What the concat demuxer may open for a network camera, and nothing else (no file: URLs inside). */
const LIST_PROTOCOLS = 'file,rtsp,rtsps,rtp,srtp,tcp,udp,tls,http,https,httpproxy,crypto';

/**
 * The arguments that make ffmpeg write raw RGB frames to stdout, at most `maxWidth` wide with the
 * aspect kept and both sides even (odd sizes make some scalers and encoders fail later). With
 * `hidden.inputList`, a file holding {@link inputList} of the spec, ffmpeg opens the URL from it.
 */
export function ffmpegArgs(spec: SourceSpec, hidden: { inputList?: string } = {}): string[] {
  const kind = sourceKind(spec.url);
  // -nostats: the progress line would fill the stderr ring and push out the lines that say why it ended.
  const input: string[] = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info'];
  if (hidden.inputList) {
    input.push('-f', 'concat', '-safe', '0', '-protocol_whitelist', LIST_PROTOCOLS);
  } else if (kind === 'rtsp' || kind === 'http') {
    for (const [key, value] of protocolOptions(kind)) input.push(`-${key}`, value);
  } else if (kind === 'device') {
    input.push('-f', 'v4l2');
  } else {
    if (spec.loop) input.push('-stream_loop', '-1');
    if (spec.realtime) input.push('-re');
  }
  if (spec.background) input.push('-threads', '1', '-filter_threads', '1', '-skip_frame', 'noref');
  input.push('-i', hidden.inputList ?? spec.url);
  // The comma inside min() is escaped for the filtergraph parser, since there is no shell here.
  // round=up: frame k is the last input frame at or before k/fps, so a frame's time says what was
  // on screen then; the default (near) shows the last frame before (k + 0.5)/fps, half a sample
  // late, which put frames after a cut into the shot before it.
  // A frame is made smaller in its decoder's YUV, and only then made RGB by a second scale at its
  // size: the conversion a frame already at most maxWidth wide gets (the first scale passes it
  // untouched, its bytes as before), where one scale doing both takes swscale's slow path. A
  // 1920×1080 film scene to 1280×720 at 5 frames/s: 1.5–1.7 s of ffmpeg's CPU against 1.7–2.0.
  const filter = `fps=${spec.fps}:round=up,scale=w=trunc(min(iw\\,${spec.maxWidth})/2)*2:h=-2,scale`;
  return [...input, '-an', '-sn', '-dn', '-vf', filter, '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'];
}

/** The size of the frames ffmpeg writes, from its "Output #0 … Stream #0:0: Video: rawvideo … WxH" line. */
export function parseOutputSize(stderr: string): { width: number; height: number } | undefined {
  const output = stderr.indexOf('Output #0');
  if (output < 0) return undefined;
  const match = /Stream #0:0[^\n]*: Video: rawvideo[^\n]*?, (\d{2,5})x(\d{2,5})/.exec(stderr.slice(output));
  return match ? { width: Number(match[1]), height: Number(match[2]) } : undefined;
}

/** The input's duration in seconds, from "Duration: HH:MM:SS.ss", when it has one. */
export function parseDuration(stderr: string): number | undefined {
  const match = /Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)/.exec(stderr);
  return match ? Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]) : undefined;
}

/** Lines ffmpeg writes at every failure, which say nothing of its cause. */
const NOISE =
  /^(Conversion failed!|Exiting normally.*|Error opening (?:input|output) files?: .*|.*Error while filtering.*|Finishing stream .*|Press \[q\].*|.*Terminating thread with return code.*)$/i;
const CAUSE =
  /error|refused|no such|denied|unauthori[sz]ed|forbidden|not found|timed? ?out|invalid|unable|could not|cannot|failed|unreachable|reset by peer|end of file|40[0-9]|50[0-9]/i;

/**
 * ffmpeg's own reason for an exit: the last meaningful line of its stderr ("No such file or
 * directory", "Connection refused", "401 Unauthorized"), without the "[tcp @ 0x…]" prefix, or
 * undefined when it said nothing of use. The caller redacts it: the line often repeats the URL.
 */
export function ffmpegReason(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((l) => l.replace(/^\[[^\]]*@ ?0x[0-9a-f]+\]\s*/i, '').trim());
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (line && !NOISE.test(line) && CAUSE.test(line)) return line.length > 300 ? `${line.slice(0, 297)}...` : line;
  }
  return undefined;
}

/** Keeps the last `size` lines of ffmpeg's stderr, to log why it exited. */
export class LineRing {
  private readonly lines: string[] = [];
  private partial = '';
  constructor(private readonly size: number) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split(/\r?\n|\r/);
    this.partial = parts.pop() ?? '';
    for (const line of parts) {
      if (!line.trim()) continue;
      this.lines.push(line);
      if (this.lines.length > this.size) this.lines.shift();
    }
  }

  text(): string {
    return [...this.lines, this.partial].filter(Boolean).join('\n');
  }
}
