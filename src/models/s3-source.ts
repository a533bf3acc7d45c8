// Models from S3: the published layout, the client, and the poller (one conditional request when nothing changed).
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { redactUrl } from '../config/schema.js';
import { RecognizerError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isVersionName, MANIFEST_FILE, manifestPath } from '../recognize/bundle-layout.js';
import { incomingFolder } from './disk.js';
import type { ModelStore } from './model-store.js';

/**
 * Published layout under `s3://BUCKET/PREFIX`: each bundle's files under `PREFIX/<version>/`, and
 * `PREFIX/latest.json` naming the version to run. The publisher writes the pointer last, so a
 * device that sees a new pointer knows every file it names is already there.
 */
export const POINTER = 'latest.json';

/** What the pointer object holds. */
export interface Pointer {
  version: string;
  /** The key of the bundle's manifest. */
  manifest: string;
  publishedAt: string;
}

export interface S3Location {
  bucket: string;
  /** Without leading or trailing slash; '' for the bucket's root. */
  prefix: string;
}

export interface S3Settings {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
}

export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw new RecognizerError('USAGE', `not an S3 URI: ${uri} (expected s3://BUCKET/PREFIX)`);
  return { bucket: match[1]!, prefix: match[2]!.replace(/^\/+|\/+$/g, '') };
}

/** `PREFIX/part/part`, without a leading slash when the prefix is empty. */
export function keyOf(location: S3Location, ...parts: string[]): string {
  return [location.prefix, ...parts].filter(Boolean).join('/');
}

/**
 * The AWS SDK is loaded here, when a client is first made: it is 20 MB of resident memory
 * (measured: a bare node at 39 MiB RSS, 61 MiB after importing @aws-sdk/client-s3) that a daemon
 * without model.s3 never needs.
 */
export async function createS3Client(settings: S3Settings): Promise<S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3Client({
    // Credentials: the SDK's default chain (environment, profile, container/Greengrass Token
    // Exchange Service endpoint, instance metadata); nothing is read from our config.
    region: settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    // SDK releases since January 2025 add a CRC32 checksum to every upload, sent for a streamed body
    // as an aws-chunked trailer, and validate checksums on downloads. S3-compatible servers that
    // predate this (s3rver, older MinIO and Ceph) store the chunk framing as the object's content:
    // checked here, a streamed "hello world" came back from s3rver as "b". WHEN_REQUIRED sends and
    // checks them only for operations that require them, which real S3 accepts as well; the sha256
    // of every file in the manifest is the integrity check that counts.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // A device on a flaky link must notice a dead server in seconds, not hang a poll forever.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
    maxAttempts: 2,
  });
}

/** The HTTP status of an SDK error, when it has one (304 for an unchanged object, 404, …). */
export function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

export function parsePointer(text: string): Pointer {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RecognizerError('MODEL_MANIFEST_INVALID', `${POINTER} is not JSON`, { cause: err });
  }
  const p = value as Partial<Pointer>;
  if (!isVersionName(p.version) || typeof p.manifest !== 'string') {
    throw new RecognizerError('MODEL_MANIFEST_INVALID', `${POINTER} does not name a version and a manifest`);
  }
  return { version: p.version, manifest: p.manifest, publishedAt: typeof p.publishedAt === 'string' ? p.publishedAt : '' };
}

/** What GET /v1/models reports about the S3 source. */
export interface S3SourceStatus {
  uri: string;
  /** `unreachable`: the last poll failed and the running model keeps serving; `empty`: no pointer yet. */
  state: 'starting' | 'ok' | 'empty' | 'unreachable';
  pointerVersion: string | null;
  lastCheckAt: string | null;
  lastError: string | null;
  failures: number;
  nextCheckAt: string | null;
  /** The last bundle fetched: its size, download time, and verify-and-swap time. */
  lastDownload: { version: string; bytes: number; downloadMs: number; installMs: number; ok: boolean } | null;
}

const MAX_BACKOFF_MS = 5 * 60_000;
/** In the store's folder; a dot name, so the store's listing and the folder watcher ignore it. */
const STATE_FILE = '.s3-pointer.json';

export class S3Source {
  private readonly store: ModelStore;
  private readonly log: Logger;
  private readonly location: S3Location;
  private client: S3Client | undefined;
  private readonly settings: S3Settings;
  private getObject: typeof import('@aws-sdk/client-s3').GetObjectCommand | undefined;
  private readonly pollMs: number;
  private etag: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private stopped = false;
  private readonly state: S3SourceStatus;

  constructor(store: ModelStore, log: Logger, options: { uri: string; pollMs: number } & S3Settings) {
    this.store = store;
    this.log = log;
    this.location = parseS3Uri(options.uri);
    this.settings = options;
    this.pollMs = options.pollMs;
    this.state = { uri: redactUrl(options.uri), state: 'starting', pointerVersion: null, lastCheckAt: null, lastError: null, failures: 0, nextCheckAt: null, lastDownload: null };
  }

  /** Polls at once, then on the interval; the last pointer handled is remembered across restarts. */
  async start(): Promise<void> {
    this.client = await createS3Client(this.settings);
    this.getObject = (await import('@aws-sdk/client-s3')).GetObjectCommand;
    // Without this, a restart would see the pointer as new and undo a rollback made through the API.
    const saved = await readFile(this.stateFile(), 'utf8').then((s) => JSON.parse(s) as { etag?: unknown }).catch(() => undefined);
    if (typeof saved?.etag === 'string') this.etag = saved.etag;
    this.schedule(0);
  }

  private stateFile(): string {
    return path.join(this.store.dir, STATE_FILE);
  }

  status(): S3SourceStatus {
    return { ...this.state };
  }

  /** Polls now (POST /v1/model/reload), or waits for the poll already running. */
  pollNow(): Promise<void> {
    this.polling ??= this.poll().finally(() => {
      this.polling = undefined;
      if (!this.stopped) this.schedule(this.nextDelay());
    });
    return this.polling;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.polling?.catch(() => undefined);
    this.client?.destroy();
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.state.nextCheckAt = new Date(Date.now() + ms).toISOString();
    this.timer = setTimeout(() => void this.pollNow(), ms);
    this.timer.unref();
  }

  /** The poll interval while healthy; after failures, 1 s doubling up to 5 min (or the interval, if longer). */
  private nextDelay(): number {
    const { failures } = this.state;
    if (failures === 0) return this.pollMs;
    return Math.min(1000 * 2 ** (failures - 1), Math.max(this.pollMs, MAX_BACKOFF_MS));
  }

  private async poll(): Promise<void> {
    this.state.lastCheckAt = new Date().toISOString();
    try {
      await this.check();
      if (this.state.failures > 0) this.log.info({ uri: this.state.uri, after: this.state.failures }, 'S3 reachable again');
      this.state.failures = 0;
      this.state.lastError = null;
    } catch (err) {
      if (this.stopped) return;
      this.state.failures++;
      this.state.state = 'unreachable';
      this.state.lastError = (err as Error).message || (err as Error).name;
      // One warning when it starts failing; the status route and metrics carry the rest.
      const level = this.state.failures === 1 ? 'warn' : 'debug';
      this.log[level]({ uri: this.state.uri, failures: this.state.failures, err: this.state.lastError, retryMs: this.nextDelay() }, 'S3 poll failed; the running model keeps serving');
    }
  }

  private async check(): Promise<void> {
    const pointerKey = keyOf(this.location, POINTER);
    let text: string;
    let etag: string | undefined;
    try {
      const res = await this.client!.send(new this.getObject!({ Bucket: this.location.bucket, Key: pointerKey, IfNoneMatch: this.etag }), { abortSignal: this.abort.signal });
      text = (await res.Body?.transformToString()) ?? '';
      etag = res.ETag;
    } catch (err) {
      const status = httpStatus(err);
      if (status === 304) return void (this.state.state = 'ok');
      if (status === 404) return void (this.state.state = 'empty');
      throw err;
    }
    this.state.state = 'ok';
    let pointer: Pointer;
    try {
      pointer = parsePointer(text);
    } catch (err) {
      // A broken pointer is the publisher's mistake: report it once, do not refetch it every poll.
      await this.remember(etag);
      this.log.error({ uri: this.state.uri, err }, 'the published pointer is unreadable');
      return;
    }
    this.state.pointerVersion = pointer.version;
    const known = await this.store.knows(pointer.version);
    if (known === 'held') await this.store.activate(pointer.version);
    else if (known === undefined) await this.download(pointer);
    // Only now: a download that failed on the network is tried again on the next poll.
    await this.remember(etag);
  }

  private async remember(etag: string | undefined): Promise<void> {
    this.etag = etag;
    await mkdir(this.store.dir, { recursive: true });
    const tmp = `${this.stateFile()}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ etag, version: this.state.pointerVersion, at: new Date().toISOString() }) + '\n');
    await rename(tmp, this.stateFile());
  }

  /** Downloads to temporary names in the store's incoming area, manifest last, then hands it to the store. */
  private async download(pointer: Pointer): Promise<void> {
    const started = Date.now();
    const manifestText = await this.text(pointer.manifest);
    let manifest: { files?: Record<string, { size?: number }> };
    try {
      manifest = JSON.parse(manifestText) as typeof manifest;
    } catch (err) {
      // Not the network's fault: retrying would fetch the same bytes, so it is refused once.
      this.store.refuse(new RecognizerError('MODEL_MANIFEST_INVALID', `bundle ${pointer.version}: ${MANIFEST_FILE} is not JSON`, { cause: err }), `s3://${this.location.bucket}/${pointer.manifest}`, pointer.version);
      return;
    }
    const files = Object.entries(manifest.files ?? {});
    const bytes = files.reduce((sum, [, f]) => sum + (f.size ?? 0), manifestText.length);
    await this.store.ensureFreeSpace(bytes);
    const base = path.posix.dirname(pointer.manifest);
    const folder = await incomingFolder(this.store.dir, pointer.version);
    try {
      for (const [name] of files) {
        if (name.includes('/') || name.includes('\\') || name.startsWith('.')) throw new RecognizerError('MODEL_MANIFEST_INVALID', `bundle ${pointer.version}: file name ${name} is not allowed`);
        const res = await this.client!.send(new this.getObject!({ Bucket: this.location.bucket, Key: `${base}/${name}` }), { abortSignal: this.abort.signal });
        const part = path.join(folder, `${name}.part`);
        await pipeline(res.Body as Readable, createWriteStream(part));
        await rename(part, path.join(folder, name));
      }
      await writeFile(manifestPath(folder), manifestText);
    } catch (err) {
      await rm(folder, { recursive: true, force: true });
      throw err;
    }
    const downloadMs = Date.now() - started;
    const outcome = await this.store.install(folder, `s3://${this.location.bucket}/${base}/`);
    this.state.lastDownload = { version: pointer.version, bytes, downloadMs, installMs: Date.now() - started - downloadMs, ok: outcome.ok };
    this.log.info(this.state.lastDownload, 'bundle from S3 handled');
  }

  private async text(key: string): Promise<string> {
    const res = await this.client!.send(new this.getObject!({ Bucket: this.location.bucket, Key: key }), { abortSignal: this.abort.signal });
    return (await res.Body?.transformToString()) ?? '';
  }
}
