import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { listPublicAssets, type PublicAsset } from '../app/assets';
import { createS3Client } from '../app/aws-clients';
import { ConfigError, loadSettings } from '../app/config';

const help = `npm run assets:publish [-- --dry-run]

Uploads app/public (css, js, images) to ASSETS_BUCKET under content-hashed names
(style.3f2a9c1e0b.css) with "Cache-Control: public, max-age=31536000, immutable", for CloudFront
to serve. Instances compute the same names from the same files, so set ASSET_BASE_URL to the
CloudFront URL once this has run. Files already in the bucket are skipped: a name never changes
its bytes.

Environment: AWS_REGION, ASSETS_BUCKET, and S3_ENDPOINT for a local s3rver.
Options:
  --dry-run   list what would be uploaded, upload nothing
  -h, --help  this help`;

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

async function main() {
  const { values } = parseArgs({
    options: { 'dry-run': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) return console.log(help);
  const settings = loadSettings(process.env, ['AWS_REGION', 'ASSETS_BUCKET', 'S3_ENDPOINT']);
  const s3 = createS3Client({ region: settings.AWS_REGION, endpoint: settings.S3_ENDPOINT });
  const result = await publishAssets(s3, settings.ASSETS_BUCKET, { dryRun: values['dry-run'], log: (line) => console.log(line) });
  console.log(
    `${values['dry-run'] ? 'Would upload' : 'Uploaded'} ${result.uploaded.length}, skipped ${result.skipped.length} already published.`,
  );
}

if (require.main === module) {
  main().catch((error) => {
    console.error(
      error instanceof ConfigError ? error.message : `assets:publish failed: ${error instanceof Error ? error.message : error}`,
    );
    process.exit(1);
  });
}
