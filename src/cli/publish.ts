// `actor-recognizer publish`: uploads a verified bundle under its version, then the pointer, last.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../config/schema.js';
import { MANIFEST_FILE } from '../recognize/bundle-layout.js';
import { readBundle } from '../recognize/manifest.js';
import { createS3Client, keyOf, parseS3Uri, POINTER, type Pointer, type S3Settings } from '../models/s3-source.js';
import { print, type CommandContext } from './common.js';

export interface PublishArgs {
  model: string;
  s3: string;
  endpoint?: string;
  region?: string;
}

export interface Published {
  version: string;
  /** Where the bundle's files are: s3://BUCKET/PREFIX/VERSION/. */
  uri: string;
  bytes: number;
}

/**
 * Checks the bundle as a device would (manifest schema, every file's size and sha256) so that a
 * broken bundle never leaves this machine, uploads its files, then its manifest, then the pointer:
 * a device that sees the new pointer finds every file already in place.
 */
export async function publishBundle(dir: string, uri: string, settings: S3Settings, client?: S3Client): Promise<Published> {
  const { manifest, files } = await readBundle(dir);
  const location = parseS3Uri(uri);
  const s3 = client ?? (await createS3Client(settings));
  try {
    let bytes = 0;
    for (const [name, content] of files) {
      await s3.send(
        new PutObjectCommand({ Bucket: location.bucket, Key: keyOf(location, manifest.version, name), Body: content, ContentType: 'application/octet-stream' }),
      );
      bytes += content.length;
    }
    const manifestKey = keyOf(location, manifest.version, MANIFEST_FILE);
    await s3.send(
      new PutObjectCommand({ Bucket: location.bucket, Key: manifestKey, Body: JSON.stringify(manifest, null, 2) + '\n', ContentType: 'application/json' }),
    );
    const pointer: Pointer = { version: manifest.version, manifest: manifestKey, publishedAt: new Date().toISOString() };
    // Devices poll this object with If-None-Match, so a short cache lifetime keeps proxies honest.
    await s3.send(
      new PutObjectCommand({
        Bucket: location.bucket,
        Key: keyOf(location, POINTER),
        Body: JSON.stringify(pointer) + '\n',
        ContentType: 'application/json',
        CacheControl: 'no-cache',
      }),
    );
    return { version: manifest.version, uri: `s3://${location.bucket}/${keyOf(location, manifest.version)}/`, bytes };
  } finally {
    if (!client) s3.destroy();
  }
}

/** Settings from the flags first, then model.s3 in the config; an explicit endpoint implies path-style. */
export function publishSettings(config: Config, args: PublishArgs): S3Settings {
  const s3 = config.model.s3;
  const endpoint = args.endpoint ?? s3?.endpoint;
  return { endpoint, region: args.region ?? s3?.region, forcePathStyle: s3?.forcePathStyle || Boolean(args.endpoint) };
}

export async function publishCommand(ctx: CommandContext, args: PublishArgs): Promise<void> {
  const result = await publishBundle(args.model, args.s3, publishSettings(ctx.config, args));
  print(
    ctx.json,
    { version: result.version, uri: result.uri },
    `published ${result.version} (${result.bytes} bytes) to ${result.uri}; devices polling ${args.s3} will pick it up`,
  );
}
