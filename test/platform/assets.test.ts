import request from 'supertest';
import { listPublicAssets } from '../../app/platform/assets';
import { buildTestApp } from '../support/app';

const css = listPublicAssets().find((asset) => asset.name === 'style.css')!;

test('when no CDN is configured, then the app serves its assets under hashed names with immutable caching', async () => {
  const wiki = buildTestApp();
  try {
    const page = await request(wiki.app).get('/pages');
    expect(page.text).toContain(`href="/static/${css.hashedName}"`);
    const asset = await request(wiki.app).get(`/static/${css.hashedName}`);
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toBe('text/css; charset=utf-8');
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(asset.headers['set-cookie']).toBeUndefined();
    expect((await request(wiki.app).get('/static/style.css')).status).toBe(404);
  } finally {
    await wiki.close();
  }
});

test('when ASSET_BASE_URL names a CDN, then pages load assets from it and the CSP allows it', async () => {
  const wiki = buildTestApp({ assetBaseUrl: 'https://d111111abcdef8.cloudfront.net/assets/' });
  try {
    const page = await request(wiki.app).get('/pages');
    expect(page.text).toContain(`href="https://d111111abcdef8.cloudfront.net/assets/${css.hashedName}"`);
    expect(page.headers['content-security-policy']).toMatch(/style-src 'self' https:\/\/d111111abcdef8\.cloudfront\.net/);
  } finally {
    await wiki.close();
  }
});
