// A real S3-compatible server (s3rver) on loopback, which the tests can stop and start again.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export const BUCKET = 'models';

/** s3rver accepts any credentials; the SDK's default chain still needs some to sign with. */
export const S3_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };

export function useS3Credentials(): void {
  Object.assign(process.env, S3_ENV);
}

/** A server on a fixed port and folder, so that a restart serves the same objects at the same URL. */
export class LoopbackS3 {
  private server: S3rver | undefined;
  private directory = '';
  port = 0;

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.directory ||= await mkdtemp(path.join(os.tmpdir(), 'ar-s3-'));
    this.server = new S3rver({ address: '127.0.0.1', port: this.port, directory: this.directory, silent: true, configureBuckets: [{ name: BUCKET }] });
    const address = await this.server.run();
    this.port = address.port;
  }

  /** Closes the listener and drops kept-alive sockets, as a crashed or unplugged server would. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server?.httpServer) return;
    const closed = server.close();
    server.httpServer.closeAllConnections();
    await closed;
  }
}

export const tmpdir = (prefix: string) => mkdtemp(path.join(os.tmpdir(), prefix));
