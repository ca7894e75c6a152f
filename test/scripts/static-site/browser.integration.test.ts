/// <reference lib="dom" />
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { createS3Client } from '../../../app/platform/aws-clients';
import { freePort } from '../../../scripts/services/ports';
import { backupSiteBucket, startS3, websiteHost, type S3Server } from '../../../scripts/services/s3';
import { writeSite } from '../../../scripts/static-site/build';
import { publishSite } from '../../../scripts/static-site/publish';
import { renderSite, type SnapshotPage } from '../../../app/backup/render';
import { launchChromium } from '../../support/chromium';

// A real browser (Debian's chromium) on the published copy, served by s3rver as the bucket's
// website endpoint: the host name is resolved to loopback, as DNS would resolve it on AWS.
let workDir: string;
let s3rver: S3Server;
let browser: Browser;
let siteUrl: string;

const at = new Date('2026-11-25T18:00:00Z');
const page = (slug: string, body: string): SnapshotPage => ({
  slug,
  title: slug.replace(/_/g, ' '),
  body,
  revision: 1,
  updatedAt: at,
  updatedBy: null,
});

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'static-browser-'));
  s3rver = await startS3({ port: await freePort(), directory: path.join(workDir, 's3'), buckets: [] });
  const dir = path.join(workDir, 'site');
  writeSite(
    dir,
    renderSite(
      [
        page('Home', 'Start at the [[Field Guide]].'),
        page('Field_Guide', 'Pelicans fish in groups. <img src=x onerror="document.title=\'owned\'"> Back [[Home]].'),
        page('Weather', 'Nothing about birds.'),
      ],
      at,
    ),
  );
  const s3 = createS3Client({ region: 'us-east-1', endpoint: s3rver.endpoint });
  await publishSite(s3, { dir, bucket: backupSiteBucket });
  s3.destroy();
  const host = websiteHost(backupSiteBucket);
  siteUrl = `http://${host}:${s3rver.port}`;
  browser = await launchChromium([`--host-resolver-rules=MAP ${host} 127.0.0.1`]);
});

afterAll(async () => {
  await browser?.close();
  await s3rver?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

test('when a reader follows a live wiki URL, a wiki link and a search on the copy, then each lands on the right page', async () => {
  const tab = await browser.newPage();
  try {
    await tab.goto(`${siteUrl}/wiki/Home`);
    expect(tab.url()).toBe(`${siteUrl}/wiki/Home/`);
    expect(await tab.textContent('.backup-banner')).toContain('This is a read-only copy as of 2026-11-25 18:00 UTC');
    // The wiki's own stylesheet applies: the banner and header are styled, not bare HTML.
    expect(await tab.$eval('.site-header', (header) => getComputedStyle(header).display)).toBe('flex');

    await Promise.all([tab.waitForURL(/\/wiki\/Field_Guide\/index\.html$/), tab.click('a.wikilink')]);
    expect(await tab.textContent('h1')).toBe('Field Guide');

    await tab.fill('form.search input[name="q"]', 'pelicans');
    await Promise.all([tab.waitForURL(/\/search\.html\?q=pelicans$/), tab.press('form.search input[name="q"]', 'Enter')]);
    await tab.waitForSelector('#search-results li');
    expect(await tab.$$eval('#search-results li a', (links) => links.map((link) => link.textContent))).toEqual(['Field Guide']);
    expect(await tab.textContent('#search-status')).toBe('1 page(s) match “pelicans”.');
    // The hostile text is shown in the snippet as text; it never ran.
    expect(await tab.textContent('#search-results .snippet')).toContain('<img src=x onerror=');
    expect(await tab.title()).not.toBe('owned');

    await Promise.all([tab.waitForURL(/\/wiki\/Field_Guide\/index\.html$/), tab.click('#search-results li a')]);
    const missing = await tab.goto(`${siteUrl}/recent`);
    expect(missing?.status()).toBe(404);
    expect(await tab.textContent('h1')).toBe('cloudwiki is under maintenance');
  } finally {
    await tab.close();
  }
});
