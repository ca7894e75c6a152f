import { GetObjectCommand } from '@aws-sdk/client-s3';
import { listPublicAssets } from '../../app/platform/assets';
import { createS3Client } from '../../app/platform/aws-clients';
import { immutableCacheControl, publishAssets } from '../../scripts/assets-publish/publish';
import { env } from '../support/app';
import { local } from '../../app/contracts';

test('when assets are published, then each lands under its hashed name with immutable caching, once', async () => {
  const s3 = createS3Client({ region: 'us-east-1', endpoint: env('TEST_S3_ENDPOINT') });
  try {
    const assets = listPublicAssets();
    const dryRun = await publishAssets(s3, local.buckets.assets, { dryRun: true });
    const first = await publishAssets(s3, local.buckets.assets);
    expect([...first.uploaded, ...first.skipped].sort()).toEqual(assets.map((asset) => asset.hashedName).sort());
    expect(dryRun.uploaded.length + dryRun.skipped.length).toBe(assets.length);

    const css = assets.find((asset) => asset.name === 'style.css')!;
    expect(css.hashedName).toMatch(/^style\.[0-9a-f]{10}\.css$/);
    const object = await s3.send(new GetObjectCommand({ Bucket: local.buckets.assets, Key: css.hashedName }));
    expect(object.ContentType).toBe('text/css; charset=utf-8');
    expect(object.CacheControl).toBe(immutableCacheControl);

    const second = await publishAssets(s3, local.buckets.assets);
    expect(second.uploaded).toEqual([]);
    expect(second.skipped).toHaveLength(assets.length);
  } finally {
    s3.destroy();
  }
});
