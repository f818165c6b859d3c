/**
 * Stored files in any S3-compatible bucket (AWS, R2, MinIO…) under `images.s3.prefix`, through
 * `@aws-sdk/client-s3`. With `images.s3.publicUrl` clients load them straight from the bucket.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Backend } from './backend.ts';
import { contentTypeOf } from './names.ts';
import { ImageStoreError, type StoredFile } from './types.ts';

export interface S3Options {
  endpoint: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  prefix: string;
  publicUrl: string;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

export class S3Backend implements Backend {
  private readonly client: S3Client;

  constructor(private readonly opts: S3Options) {
    this.client = new S3Client({
      region: opts.region || 'auto',
      ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
      ...(opts.accessKeyId
        ? { credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } }
        : {}),
      maxAttempts: 3,
    });
  }

  private key(key: string): string {
    return this.opts.prefix + key;
  }

  async check(): Promise<void> {
    const probe = this.key(`.probe-${randomBytes(6).toString('hex')}`);
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.opts.bucket, Key: probe, Body: 'ok', ContentType: 'text/plain' }),
      );
      await this.client.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: probe }));
    } catch (err) {
      const status = statusOf(err);
      throw new ImageStoreError(
        'IMAGE_STORE_UNWRITABLE',
        `images.s3: cannot write to bucket "${this.opts.bucket}"${this.opts.endpoint ? ` at ${this.opts.endpoint}` : ''} (${status ? `HTTP ${status} ` : ''}${(err as Error).name}: ${(err as Error).message})`,
        'images.s3',
        { cause: err },
      );
    }
  }

  async put(key: string, bytes: Buffer, contentType: string): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.opts.bucket,
          Key: this.key(key),
          Body: bytes,
          ContentType: contentType,
          ContentLength: bytes.length,
          CacheControl: IMMUTABLE,
        }),
      );
    } catch (err) {
      throw new ImageStoreError(
        'IMAGE_STORE_FAILED',
        `could not write ${key} to S3: ${(err as Error).message}`,
      );
    }
  }

  async stat(key: string): Promise<StoredFile | undefined> {
    try {
      const h = await this.client.send(
        new HeadObjectCommand({ Bucket: this.opts.bucket, Key: this.key(key) }),
      );
      return {
        size: h.ContentLength ?? 0,
        etag: h.ETag ?? `"${(h.ContentLength ?? 0).toString(16)}"`,
        contentType: contentTypeOf(key),
      };
    } catch (err) {
      if (statusOf(err) === 404 || (err as Error).name === 'NotFound') return undefined;
      throw new ImageStoreError(
        'IMAGE_STORE_FAILED',
        `could not read ${key} from S3: ${(err as Error).message}`,
      );
    }
  }

  async read(key: string, range?: { start: number; end: number }): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.opts.bucket,
          Key: this.key(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      const body = out.Body;
      if (body instanceof Readable) return body;
      if (!body) return Readable.from([]);
      return Readable.from(Buffer.from(await body.transformToByteArray()));
    } catch (err) {
      throw new ImageStoreError(
        'IMAGE_STORE_FAILED',
        `could not read ${key} from S3: ${(err as Error).message}`,
      );
    }
  }

  async sweep(cutoffMs: number): Promise<number> {
    const old: string[] = [];
    const tasks = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.opts.bucket,
          Prefix: this.opts.prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key || !o.LastModified || o.LastModified.getTime() >= cutoffMs) continue;
        const rest = o.Key.slice(this.opts.prefix.length);
        if (!/^\d{1,30}\//.test(rest)) continue;
        old.push(o.Key);
        tasks.add(rest.slice(0, rest.indexOf('/')));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    for (let i = 0; i < old.length; i += 1000) {
      await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.opts.bucket,
          Delete: { Objects: old.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
        }),
      );
    }
    return tasks.size;
  }

  directUrl(key: string): string | undefined {
    if (!this.opts.publicUrl) return undefined;
    return `${this.opts.publicUrl.replace(/\/+$/, '')}/${this.key(key)}`;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
