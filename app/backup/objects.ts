import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { immutablePrefix, type SiteFile } from './render';

/** Pages and lists: a reader sent to the backup sees a change within a minute of its publication. */
export const htmlCacheControl = 'max-age=60';
/** Hashed files never change their bytes. */
export const immutableCacheControl = 'public, max-age=31536000, immutable';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

export function contentTypeOf(key: string): string {
  return contentTypes[path.extname(key).toLowerCase()] ?? 'application/octet-stream';
}

export function cacheControlOf(key: string): string {
  return key.startsWith(immutablePrefix) ? immutableCacheControl : htmlCacheControl;
}

/** One file of the copy, with its content type and caching. A PUT of the same bytes is harmless: publishing is idempotent. */
export async function putSiteFile(s3: S3Client, bucket: string, file: SiteFile): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: file.key,
      Body: file.body,
      ContentType: contentTypeOf(file.key),
      CacheControl: cacheControlOf(file.key),
    }),
  );
}
