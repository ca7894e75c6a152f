import { backupSiteDocuments, local } from '../../app/contracts';
import { startS3rver, type S3rverServer } from '../../dev/s3rver';

/**
 * The static backup site's bucket (S3 website hosting). static-site:publish writes to it; in the
 * lab HAProxy serves it as the `backup` server when every instance is down.
 */
export const backupSiteBucket = 'cloudwiki-backup';
const backupSiteIndexDocument = backupSiteDocuments.index;
/** What S3 website hosting answers for a key that does not exist: the maintenance page. */
export const backupSiteErrorDocument = backupSiteDocuments.error;

const websiteConfiguration = `<?xml version="1.0" encoding="UTF-8"?>
<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <IndexDocument><Suffix>${backupSiteIndexDocument}</Suffix></IndexDocument>
  <ErrorDocument><Key>${backupSiteErrorDocument}</Key></ErrorDocument>
</WebsiteConfiguration>`;

/**
 * The Host header that makes s3rver answer as the website endpoint of `bucket` (index and error
 * documents, no XML errors), like `<bucket>.s3-website-<region>.amazonaws.com` on AWS.
 */
export function websiteHost(bucket: string, region = local.region): string {
  return `${bucket}.s3-website-${region}.amazonaws.com`;
}

export interface S3Options {
  port: number;
  /** Where objects are stored on disk. */
  directory: string;
  /** Plain buckets to create; the backup website bucket is always created. */
  buckets: string[];
}

export type S3Server = S3rverServer;

/** s3rver with the given buckets and the backup site's website bucket. */
export function startS3(options: S3Options): Promise<S3Server> {
  return startS3rver({ ...options, websites: [{ name: backupSiteBucket, configuration: websiteConfiguration }] });
}
