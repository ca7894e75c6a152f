import express, { type Response } from 'express';
import request from 'supertest';
import { configureViews, renderWithHoles, sendFilled } from '../../app/http/render';
import { csrfField } from '../../app/contracts';

// A page rendered once with holes for the reader's name and token, then filled, must be exactly
// what rendering the templates for that reader gives: the same bytes, whatever the values hold.

type Hole = 'username' | 'csrfToken';

const pageLocals = {
  title: 'Holes & “quotes”',
  page: { slug: 'Holes', title: 'Holes & “quotes”', revision: 3, updatedAt: new Date('2026-12-01T10:00:00Z'), updatedBy: 'someone' },
  html: '<p>Text with → and 語, a <a href="/wiki/Other">link</a>.</p>',
  uploads: [{ key: 'k/1', filename: 'plan.pdf', contentType: 'application/pdf', size: 2048, markdown: '[plan.pdf](/uploads/k/1)' }],
  uploadLimit: '10 MB',
  servedBy: 'i-test',
  version: 'test',
};

/** An app that renders `locals` as the page view: /rendered with the templates, /filled from one rendering with holes. */
function appRendering(locals = pageLocals) {
  const app = express();
  configureViews(app, { url: (name) => `/static/${name}` });
  let kept: ReturnType<typeof renderWithHoles<Hole>> | undefined;
  const holed = (res: Response) =>
    (kept ??= renderWithHoles<Hole>(res, 'page', (hole) => ({
      ...locals,
      user: { username: hole('username') },
      csrfToken: () => hole('csrfToken'),
    })));
  app.get('/rendered', (req, res) => {
    const { username, token } = req.query as Record<string, string>;
    res.render('page', { ...locals, user: { id: 'u1', username }, csrfToken: () => token });
  });
  app.get('/filled', async (req, res) => {
    const { username, token } = req.query as Record<string, string>;
    sendFilled(res, await holed(res), { username: username!, csrfToken: token! });
  });
  return app;
}

describe('a rendering with holes', () => {
  const readers = [
    { username: 'alice', token: 'tok_A-1' },
    { username: 'bob-2', token: 'another-token' },
    // Not a name the sign-up form accepts, but whatever a hole holds must be escaped as templates do.
    { username: `<b>&"'\\`, token: '"><script>x</script>' },
  ];

  test('when filled for each reader, then the body is byte for byte what the templates render for them', async () => {
    const app = appRendering();
    for (const reader of readers) {
      const rendered = await request(app).get('/rendered').query(reader);
      const filled = await request(app).get('/filled').query(reader);
      expect(filled.status).toBe(200);
      expect(filled.headers['content-type']).toBe(rendered.headers['content-type']);
      expect(Buffer.from(filled.text)).toEqual(Buffer.from(rendered.text));
      // The page does print both values: the comparison is not of two pages without them.
      expect(rendered.text).toContain('class="who"');
      expect(rendered.text.match(new RegExp(`name="${csrfField}"`, 'g'))).toHaveLength(2);
    }
  });

  test('when the reader or the page changes, then so does the ETag; the same reader and page keep it', async () => {
    const app = appRendering();
    const etagFor = async (reader: (typeof readers)[number], target = app) =>
      (await request(target).get('/filled').query(reader)).headers.etag;
    const first = await etagFor(readers[0]!);
    expect(first).toMatch(/^W\/".+"$/);
    expect(await etagFor(readers[0]!)).toBe(first);
    expect(await etagFor(readers[1]!)).not.toBe(first);
    // Values of the same length: the body's length alone would not tell them apart.
    expect(await etagFor({ ...readers[0]!, username: 'alicf' })).not.toBe(first);
    expect(await etagFor({ ...readers[0]!, token: 'tok_A-2' })).not.toBe(first);

    const samePage = appRendering();
    expect(await etagFor(readers[0]!, samePage)).toBe(first);
    const otherPage = appRendering({ ...pageLocals, page: { ...pageLocals.page, updatedBy: 'someone else' } });
    expect(await etagFor(readers[0]!, otherPage)).not.toBe(first);
  });
});
