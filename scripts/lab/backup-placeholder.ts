import { HeadObjectCommand, NotFound, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { local } from '../../app/contracts';
import { backupSiteBucket, backupSiteErrorDocument, backupSiteIndexDocument } from '../services/s3';

const placeholder = (title: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}</style></head>
<body><h1>${title}</h1>
<p>The wiki is unavailable right now and you are seeing its backup site, served from the
<code>${backupSiteBucket}</code> bucket. Please try again in a few minutes.</p>
<p><small>This placeholder is what the lab puts in the bucket until <code>npm run static-site:publish</code>
publishes the read-only copy of the wiki.</small></p></body></html>
`;

/**
 * Puts a minimal maintenance page in the backup bucket when nothing has been published there, so
 * failing over to the backup site is visible even before the static copy has been built.
 * An existing site (published by static-site:publish) is left alone.
 */
export async function publishPlaceholderBackupSite(s3Endpoint: string): Promise<void> {
  const s3 = new S3Client({ endpoint: s3Endpoint, region: local.region, credentials: local.credentials, forcePathStyle: true });
  try {
    if (await exists(s3, backupSiteIndexDocument)) return;
    for (const key of [backupSiteIndexDocument, backupSiteErrorDocument]) {
      await s3.send(
        new PutObjectCommand({
          Bucket: backupSiteBucket,
          Key: key,
          Body: placeholder('cloudwiki is under maintenance'),
          ContentType: 'text/html; charset=utf-8',
          CacheControl: 'max-age=60',
        }),
      );
    }
  } finally {
    s3.destroy();
  }
}

async function exists(s3: S3Client, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: backupSiteBucket, Key: key }));
    return true;
  } catch (error) {
    if (error instanceof NotFound) return false;
    throw error;
  }
}
