// The ffmpeg command line for a camera, and what we read back from ffmpeg's stderr.

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
}

export type SourceKind = 'rtsp' | 'http' | 'device' | 'file';

export function sourceKind(url: string): SourceKind {
  if (/^rtsps?:\/\//i.test(url)) return 'rtsp';
  if (/^https?:\/\//i.test(url)) return 'http';
  if (url.startsWith('/dev/video')) return 'device';
  return 'file';
}

/**
 * The arguments that make ffmpeg write raw RGB frames to stdout, at most `maxWidth` wide with the
 * aspect kept and both sides even (odd sizes make some scalers and encoders fail later).
 */
export function ffmpegArgs(spec: SourceSpec): string[] {
  const kind = sourceKind(spec.url);
  // -nostats: the progress line would fill the stderr ring and push out the lines that say why it ended.
  const input: string[] = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info'];
  if (kind === 'rtsp') {
    // UDP loses packets on Wi-Fi and through NAT; TCP is what every camera supports.
    input.push('-rtsp_transport', 'tcp', '-timeout', '10000000');
  } else if (kind === 'http') {
    input.push('-reconnect', '1', '-reconnect_streamed', '1', '-reconnect_delay_max', '5');
  } else if (kind === 'device') {
    input.push('-f', 'v4l2');
  } else {
    if (spec.loop) input.push('-stream_loop', '-1');
    if (spec.realtime) input.push('-re');
  }
  input.push('-i', spec.url);
  // The comma inside min() is escaped for the filtergraph parser, since there is no shell here.
  const filter = `fps=${spec.fps},scale=w=trunc(min(iw\\,${spec.maxWidth})/2)*2:h=-2`;
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
const NOISE = /^(Conversion failed!|Exiting normally.*|Error opening (?:input|output) files?: .*|.*Error while filtering.*|Finishing stream .*|Press \[q\].*|.*Terminating thread with return code.*)$/i;
const CAUSE = /error|refused|no such|denied|unauthori[sz]ed|forbidden|not found|timed? ?out|invalid|unable|could not|cannot|failed|unreachable|reset by peer|end of file|40[0-9]|50[0-9]/i;

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
