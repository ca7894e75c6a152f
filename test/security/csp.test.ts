import request from 'supertest';
import { buildTestApp, env } from '../support/app';

// Anyone can upload a text file to the uploads origin, so that origin may serve images and
// nothing else; scripts, styles and fonts come from the app or the assets' CloudFront only.

function directives(header: string): Map<string, string[]> {
  return new Map(
    header.split(';').map((directive) => {
      const [name = '', ...sources] = directive.trim().split(/\s+/);
      return [name, sources];
    }),
  );
}

test('when a page is served, then only img-src names the uploads origin, and scripts, styles and fonts come from static origins', async () => {
  const wiki = buildTestApp({ assetBaseUrl: 'https://d111111abcdef8.cloudfront.net/assets' });
  try {
    const response = await request(wiki.app).get('/login');
    const csp = directives(String(response.headers['content-security-policy']));
    const uploadsOrigin = new URL(env('TEST_S3_ENDPOINT')).origin;
    expect(csp.get('img-src')).toContain(uploadsOrigin);
    for (const name of ['script-src', 'style-src', 'font-src', 'default-src', 'connect-src']) {
      expect(csp.get(name)).not.toContain(uploadsOrigin);
    }
    for (const name of ['script-src', 'style-src', 'font-src']) {
      expect(csp.get(name)).toEqual(["'self'", 'https://d111111abcdef8.cloudfront.net']);
    }
  } finally {
    await wiki.close();
  }
});
