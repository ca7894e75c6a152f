import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../../app/platform/aws-clients';
import { freePort } from '../../../scripts/services/ports';
import { backupSiteBucket, startS3, websiteHost, type S3Server } from '../../../scripts/services/s3';
import { writeSite } from '../../../scripts/static-site/build';
import { pageKey } from '../../../app/backup/links';
import { htmlCacheControl, immutableCacheControl } from '../../../app/backup/objects';
import { publishSite } from '../../../scripts/static-site/publish';
import { renderSite, type SnapshotPage } from '../../../app/backup/render';

// Its own s3rver, set up as the lab's: the backup bucket with website hosting (index and error
// documents), which the shared test s3rver does not have.
let s3rver: S3Server;
let s3: S3Client;
let workDir: string;
beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'static-publish-'));
  s3rver = await startS3({ port: await freePort(), directory: path.join(workDir, 's3'), buckets: [] });
  s3 = createS3Client({ region: 'us-east-1', endpoint: s3rver.endpoint });
});
afterAll(async () => {
  s3.destroy();
  await s3rver.stop();
  rmSync(workDir, { recursive: true, force: true });
});

const at = new Date('2026-11-25T18:00:00Z');
const page = (slug: string, body: string): SnapshotPage => ({ slug, title: slug, body, revision: 1, updatedAt: at, updatedBy: null });

function build(name: string, pages: SnapshotPage[]): string {
  const dir = path.join(workDir, name);
  writeSite(dir, renderSite(pages, at));
  return dir;
}

async function keys(): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: backupSiteBucket }));
  return (listed.Contents ?? []).map((object) => object.Key!).sort();
}

interface WebsiteAnswer {
  status: number;
  location?: string;
  body: string;
}

/** A GET as a browser sends it to the bucket's website endpoint (fetch may not set Host). */
function website(pathname: string): Promise<WebsiteAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${s3rver.endpoint}${pathname}`, { headers: { host: websiteHost(backupSiteBucket) } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, location: response.headers.location, body }));
    });
    request.on('error', reject);
  });
}

test('when a site is published, then each file is uploaded with its content type and cache lifetime, and stale keys go', async () => {
  const first = build('first', [page('Home', 'See [[Birds]].'), page('Birds', 'Pelicans.')]);
  const dryRun = await publishSite(s3, { dir: first, bucket: backupSiteBucket, dryRun: true });
  expect(await keys()).toEqual([]);
  expect(dryRun.upload).toContain(pageKey('Birds'));

  const published = await publishSite(s3, { dir: first, bucket: backupSiteBucket });
  expect(published.upload.sort()).toEqual(dryRun.upload.sort());
  expect(await keys()).toEqual(published.upload.sort());

  const html = await s3.send(new GetObjectCommand({ Bucket: backupSiteBucket, Key: pageKey('Birds') }));
  expect(html.ContentType).toBe('text/html; charset=utf-8');
  expect(html.CacheControl).toBe(htmlCacheControl);
  const cssKey = published.upload.find((key) => /^static\/style\.[0-9a-f]{10}\.css$/.test(key))!;
  const css = await s3.send(new GetObjectCommand({ Bucket: backupSiteBucket, Key: cssKey }));
  expect(css.ContentType).toBe('text/css; charset=utf-8');
  expect(css.CacheControl).toBe(immutableCacheControl);
  const indexKey = published.upload.find((key) => key.endsWith('.json'))!;
  expect((await s3.send(new GetObjectCommand({ Bucket: backupSiteBucket, Key: indexKey }))).ContentType).toBe(
    'application/json; charset=utf-8',
  );

  // Something put there by hand, and a page deleted from the wiki since: both are stale.
  await s3.send(new PutObjectCommand({ Bucket: backupSiteBucket, Key: 'left-over.txt', Body: 'old' }));
  const second = build('second', [page('Home', 'See [[Birds]].')]);
  const dryRemove = await publishSite(s3, { dir: second, bucket: backupSiteBucket, dryRun: true });
  expect(dryRemove.remove).toEqual(expect.arrayContaining(['left-over.txt', pageKey('Birds')]));
  expect(await keys()).toContain('left-over.txt');

  const republished = await publishSite(s3, { dir: second, bucket: backupSiteBucket });
  expect(republished.remove).toEqual(dryRemove.remove);
  expect(republished.unchanged).toEqual(expect.arrayContaining([cssKey]));
  expect(republished.upload).not.toContain(cssKey);
  const after = await keys();
  expect(after).not.toContain('left-over.txt');
  expect(after).not.toContain(pageKey('Birds'));
  expect(after).toContain(pageKey('Home'));
});

test('when the bucket holds something other than a backup site, then publishing refuses to touch it unless forced', async () => {
  const bucket = 'someone-elses-files';
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'precious.png', Body: 'x' }));
  const dir = build('foreign', [page('Home', 'x')]);
  await expect(publishSite(s3, { dir, bucket })).rejects.toThrow(/does not look like the backup site/);
  const kept = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  expect(kept.Contents?.map((object) => object.Key)).toEqual(['precious.png']);

  const forced = await publishSite(s3, { dir, bucket, force: true });
  expect(forced.remove).toEqual(['precious.png']);
});

test('when the directory has no pages or would delete many keys, then publishing refuses and the backup keeps its pages', async () => {
  const bucket = 'backup-with-many-pages';
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const many = Array.from({ length: 12 }, (_, i) => page(`Page_${i}`, `Text ${i}.`));
  await publishSite(s3, { dir: build('many', many), bucket });
  const countPages = async () =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).filter((object) => object.Key!.startsWith('wiki/'))
      .length;
  expect(await countPages()).toBe(12);

  await expect(publishSite(s3, { dir: build('empty', []), bucket })).rejects.toThrow(
    /has no pages but bucket backup-with-many-pages has 12/,
  );
  await expect(publishSite(s3, { dir: build('few', many.slice(0, 1)), bucket })).rejects.toThrow(/would delete 11 keys .*\(more than 10\)/);
  expect(await countPages()).toBe(12);

  // Within the limit, or when forced, the sync deletes as before.
  expect((await publishSite(s3, { dir: build('fewer', many.slice(0, 10)), bucket })).remove).toHaveLength(2);
  expect((await publishSite(s3, { dir: build('one', many.slice(0, 1)), bucket, force: true })).remove).toHaveLength(9);
});

test('when a deploy publishes only into a new bucket, then a bucket that already holds the copy keeps its newer pages', async () => {
  const bucket = 'backup-kept-current';
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const first = await publishSite(s3, { dir: build('new-bucket', [page('Home', 'Published by the build.')]), bucket, onlyIfNew: true });
  expect(first.upload).toContain(pageKey('Home'));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: pageKey('Home'), Body: 'Newer, from an instance.' }));

  const again = await publishSite(s3, { dir: build('older-build', [page('Home', 'An older build.')]), bucket, onlyIfNew: true });
  expect(again.upload).toEqual([]);
  const home = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: pageKey('Home') }));
  expect(await home.Body!.transformToString()).toBe('Newer, from an instance.');
});

test('when the published site is read through the website endpoint, then wiki URLs, links and missing paths resolve', async () => {
  const dir = build('website', [page('Home', 'See [[Café]].'), page('Café', 'Back [[Home]].')]);
  await publishSite(s3, { dir, bucket: backupSiteBucket });

  const root = await website('/');
  expect(root.status).toBe(200);
  expect(root.body).toContain('href="wiki/Caf%C3%A9/index.html"');

  // The live wiki's URL, as a reader has it when the site fails over: redirected to the copy.
  const live = await website('/wiki/Home');
  expect(live.status).toBe(302);
  expect(live.location).toBe('/wiki/Home/');
  const folder = await website('/wiki/Home/');
  expect(folder.status).toBe(200);
  const home = folder.body;
  expect(home).toContain('read-only copy');

  const link = /href="([^"]*Caf[^"]*)"/.exec(home)![1]!;
  const linked = await website(new URL(link, 'http://site/wiki/Home/').pathname);
  expect(linked.status).toBe(200);
  expect(linked.body).toContain('Back <a class="wikilink"');

  const missing = await website('/wiki/Home/edit');
  expect(missing.status).toBe(404);
  expect(missing.body).toContain('cloudwiki is under maintenance');
});
