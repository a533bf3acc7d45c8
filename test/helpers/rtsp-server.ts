// A minimal RTSP server for tests: ffmpeg pushes RTP over UDP to us, we serve it interleaved over TCP.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFile, mkdtemp } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * ffmpeg can listen for RTSP only as a receiver, never serve a client; a camera serves, so this does:
 * OPTIONS, DESCRIBE (ffmpeg's own SDP), SETUP (TCP interleaved only, as our cameras ask), PLAY.
 */
export class TestRtspServer {
  private server: Server | undefined;
  private udp: UdpSocket | undefined;
  private pusher: ChildProcess | undefined;
  private readonly clients = new Set<Socket>();
  private readonly playing = new Set<Socket>();
  private sdp = '';

  constructor(
    private readonly file: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `rtsp://127.0.0.1:${this.port}/live`;
  }

  async start(): Promise<void> {
    const udp = createSocket('udp4');
    this.udp = udp;
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const rtpPort = udp.address().port;
    udp.on('message', (packet) => {
      const head = Buffer.from([0x24, 0, packet.length >> 8, packet.length & 0xff]);
      for (const c of this.playing) c.write(Buffer.concat([head, packet]));
    });
    const sdpFile = path.join(await mkdtemp(path.join(os.tmpdir(), 'ar-rtsp-')), 'stream.sdp');
    this.pusher = spawn(
      'ffmpeg',
      [
        '-v',
        'error',
        '-re',
        '-stream_loop',
        '-1',
        '-i',
        this.file,
        '-an',
        '-c',
        'copy',
        '-f',
        'rtp',
        '-sdp_file',
        sdpFile,
        `rtp://127.0.0.1:${rtpPort}?rtcpport=${rtpPort + 1}`,
      ],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 50 && !this.sdp.includes('m=video'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      this.sdp = await readFile(sdpFile, 'utf8').catch(() => '');
    }
    this.sdp =
      this.sdp
        .replace(/^m=video \d+/m, 'm=video 0')
        .replace(/^c=IN IP4 .*$/m, 'c=IN IP4 0.0.0.0')
        .trimEnd() + '\r\na=control:trackID=0\r\n';
    const server = createServer((socket) => this.serve(socket));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
  }

  /** Cuts everything, as a camera losing power would. */
  async stop(): Promise<void> {
    this.pusher?.kill('SIGKILL');
    for (const c of this.clients) c.destroy();
    this.clients.clear();
    this.playing.clear();
    this.udp?.close();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.clients.add(socket);
    socket.on('close', () => {
      this.clients.delete(socket);
      this.playing.delete(socket);
    });
    socket.on('error', () => undefined);
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      let end: number;
      while ((end = buffer.indexOf('\r\n\r\n')) >= 0) {
        const request = buffer.slice(0, end);
        buffer = buffer.slice(end + 4);
        this.answer(socket, request);
      }
    });
  }

  private answer(socket: Socket, request: string): void {
    const [line = ''] = request.split('\r\n');
    const method = line.split(' ')[0];
    const cseq = /CSeq:\s*(\d+)/i.exec(request)?.[1] ?? '0';
    const reply = (headers: string[], body = '') =>
      socket.write(
        `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\n${headers.map((h) => `${h}\r\n`).join('')}${body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n${body}`,
      );
    if (method === 'OPTIONS') reply(['Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN']);
    else if (method === 'DESCRIBE') reply([`Content-Base: ${this.url}/`, 'Content-Type: application/sdp'], this.sdp);
    else if (method === 'SETUP') reply(['Transport: RTP/AVP/TCP;unicast;interleaved=0-1', 'Session: 12345678']);
    else if (method === 'PLAY') {
      reply(['Session: 12345678', 'Range: npt=0.000-']);
      this.playing.add(socket);
    } else if (method === 'TEARDOWN') {
      reply(['Session: 12345678']);
      socket.end();
    } else socket.write(`RTSP/1.0 405 Method Not Allowed\r\nCSeq: ${cseq}\r\n\r\n`);
  }
}
