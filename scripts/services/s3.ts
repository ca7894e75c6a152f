import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';
import { localRegion } from './local-aws';

/**
 * The static backup site's bucket (S3 website hosting). static-site:publish writes to it; in the
 * lab HAProxy serves it as the `backup` server when every instance is down.
 */
export const backupSiteBucket = 'cloudwiki-backup';
export const backupSiteIndexDocument = 'index.html';
/** What S3 website hosting answers for a key that does not exist: the maintenance page. */
export const backupSiteErrorDocument = 'maintenance.html';

const websiteConfiguration = `<?xml version="1.0" encoding="UTF-8"?>
<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <IndexDocument><Suffix>${backupSiteIndexDocument}</Suffix></IndexDocument>
  <ErrorDocument><Key>${backupSiteErrorDocument}</Key></ErrorDocument>
</WebsiteConfiguration>`;

/**
 * The Host header that makes s3rver answer as the website endpoint of `bucket` (index and error
 * documents, no XML errors), like `<bucket>.s3-website-<region>.amazonaws.com` on AWS.
 */
export function websiteHost(bucket: string, region = localRegion): string {
  return `${bucket}.s3-website-${region}.amazonaws.com`;
}

export interface S3Options {
  port: number;
  /** Where objects are stored on disk. */
  directory: string;
  /** Plain buckets to create; the backup website bucket is always created. */
  buckets: string[];
}

export interface S3Server {
  readonly endpoint: string;
  readonly port: number;
  readonly stop: () => Promise<void>;
}

/** s3rver in this process on 127.0.0.1, with the buckets and the backup site's website bucket. */
export async function startS3(options: S3Options): Promise<S3Server> {
  mkdirSync(options.directory, { recursive: true });
  const s3rver = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    directory: options.directory,
    silent: true,
    configureBuckets: [
      ...options.buckets.map((name) => ({ name, configs: [] })),
      { name: backupSiteBucket, configs: [websiteConfiguration] },
    ],
  });
  const address = (await s3rver.run()) as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    stop: () => s3rver.close(),
  };
}
