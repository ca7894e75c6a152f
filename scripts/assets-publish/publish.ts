import { readFileSync } from 'node:fs';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { listPublicAssets, type PublicAsset } from '../../app/platform/assets';

export const immutableCacheControl = 'public, max-age=31536000, immutable';

export interface PublishResult {
  uploaded: string[];
  skipped: string[];
}

export async function publishAssets(
  s3: S3Client,
  bucket: string,
  options: { dryRun?: boolean; log?: (line: string) => void; assets?: PublicAsset[] } = {},
): Promise<PublishResult> {
  const log = options.log ?? (() => undefined);
  const assets = options.assets ?? listPublicAssets();
  const result: PublishResult = { uploaded: [], skipped: [] };
  for (const [index, asset] of assets.entries()) {
    const progress = `[${index + 1}/${assets.length}]`;
    if (await exists(s3, bucket, asset.hashedName)) {
      result.skipped.push(asset.hashedName);
      log(`${progress} ${asset.hashedName} already published`);
      continue;
    }
    if (!options.dryRun) {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: asset.hashedName,
          Body: readFileSync(asset.file),
          ContentType: asset.contentType,
          CacheControl: immutableCacheControl,
        }),
      );
    }
    result.uploaded.push(asset.hashedName);
    log(`${progress} ${options.dryRun ? 'would upload' : 'uploaded'} ${asset.name} as ${asset.hashedName} (${asset.contentType})`);
  }
  return result;
}

async function exists(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw error;
  }
}
