import { Command } from 'commander';
import { createS3Client } from '../../app/platform/aws-clients';
import { ConfigError, loadSettings } from '../../app/config';
import { publishAssets } from './publish';

const program = new Command('npm run assets:publish --')
  .description(
    `Uploads app/public (css, js, images) to ASSETS_BUCKET under content-hashed names
(style.3f2a9c1e0b.css) with "Cache-Control: public, max-age=31536000, immutable", for CloudFront
to serve. Instances compute the same names from the same files, so set ASSET_BASE_URL to the
CloudFront URL once this has run. Files already in the bucket are skipped: a name never changes
its bytes.

Environment: AWS_REGION, ASSETS_BUCKET, and S3_ENDPOINT for a local s3rver.`,
  )
  .option('--dry-run', 'list what would be uploaded, upload nothing', false)
  .action(async (options: { dryRun: boolean }) => {
    const settings = loadSettings(process.env, ['AWS_REGION', 'ASSETS_BUCKET', 'S3_ENDPOINT']);
    const s3 = createS3Client({ region: settings.AWS_REGION, endpoint: settings.S3_ENDPOINT });
    const result = await publishAssets(s3, settings.ASSETS_BUCKET, { dryRun: options.dryRun, log: (line) => console.log(line) });
    console.log(
      `${options.dryRun ? 'Would upload' : 'Uploaded'} ${result.uploaded.length}, skipped ${result.skipped.length} already published.`,
    );
  });

program.parseAsync().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : `assets:publish failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
