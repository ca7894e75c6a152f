import request from 'supertest';
import { csrfField, pageRules, servedByHeader } from '../../app/contracts';
import { pageRowTtlMs } from '../../app/pages/page-views';
import { testClock } from '../support/clock';
import { buildTestApp, type TestApp } from '../support/app';
import { insertPages } from '../support/bulk-pages';
import { csrfTokenIn, uniqueName, visitor } from '../support/browser-like';

const clock = testClock();
let wiki: TestApp;
beforeAll(() => {
  wiki = buildTestApp({ now: clock.now });
});
afterAll(() => wiki.close());

async function editor() {
  const person = visitor(wiki.app);
  await person.signUp();
  return person;
}

async function save(person: ReturnType<typeof visitor>, slug: string, body: string, summary = '') {
  const form = await person.get(`/wiki/${slug}/edit`);
  const baseRevision = /name="baseRevision" value="(\d*)"/.exec(form.text)?.[1] ?? '';
  return person.post(`/wiki/${slug}`, { [csrfField]: csrfTokenIn(form.text), body, summary, baseRevision });
}

describe('page lifecycle', () => {
  test('when a page is missing, then it answers 404 and offers to create it', async () => {
    const slug = uniqueName('Missing');
    const response = await request(wiki.app).get(`/wiki/${slug}`);
    expect(response.status).toBe(404);
    expect(response.text).toContain('There is no page called');
    expect(response.text).toContain(`/login?next=${encodeURIComponent(`/wiki/${slug}/edit`)}`);
  });

  test('when an editor creates and edits a page, then readers see it, its history, revisions and diff', async () => {
    const person = await editor();
    const slug = uniqueName('Lifecycle');
    expect((await save(person, slug, 'First line\nSecond line', 'create')).status).toBe(303);
    expect((await save(person, slug, 'First line\nSecond line changed', 'tweak')).status).toBe(303);

    const page = await request(wiki.app).get(`/wiki/${slug}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Second line changed');

    const history = await request(wiki.app).get(`/wiki/${slug}/history`);
    expect(history.text).toMatch(/create/);
    expect(history.text).toMatch(/tweak/);

    const first = await request(wiki.app).get(`/wiki/${slug}/rev/1`);
    expect(first.text).toContain('Revision 1 of this page');
    expect(first.text).not.toContain('Second line changed');

    const diff = await request(wiki.app).get(`/wiki/${slug}/diff?from=1&to=2`);
    expect(diff.status).toBe(200);
    expect(diff.text).toMatch(/<span class="removed">Second line\n?<\/span>/);
    expect(diff.text).toMatch(/<span class="added">Second line changed\n?<\/span>/);
  });

  test('when an editor reverts to an old revision, then a new revision holds the old text', async () => {
    const person = await editor();
    const slug = uniqueName('Revert');
    await save(person, slug, 'good text');
    await save(person, slug, 'vandalised');
    const history = await person.get(`/wiki/${slug}/history`);
    const reverted = await person.post(`/wiki/${slug}/revert/1`, { [csrfField]: csrfTokenIn(history.text) });
    expect(reverted.status).toBe(303);
    const current = await request(wiki.app).get(`/api/pages/${slug}`);
    expect(current.body).toMatchObject({ body: 'good text', revision: 3 });
  });

  test('when pages exist, then all pages and recent changes list them', async () => {
    const person = await editor();
    const neighbour = uniqueName('Listed');
    const slug = `${neighbour}_next`;
    await save(person, neighbour, 'the page listed just before', '');
    await save(person, slug, 'listed text', 'listed summary');
    // The slice that starts after its neighbour: a database that earlier runs filled with more
    // than one slice of pages would push it out of the first.
    expect((await request(wiki.app).get(`/pages?after=${neighbour}`)).text).toContain(`/wiki/${slug}`);
    const recent = await request(wiki.app).get('/recent');
    expect(recent.text).toContain(`/wiki/${slug}/rev/1`);
    expect(recent.text).toContain('listed summary');
  });

  test('when the root is requested, then it redirects to the Home page', async () => {
    const root = await request(wiki.app).get('/');
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/wiki/Home');
  });
});

describe('long lists', () => {
  /** Follows the "Next" links from `start` and returns every slice's listed hrefs. */
  async function slices(start: string): Promise<string[][]> {
    const pages: string[][] = [];
    let url: string | null = start;
    while (url) {
      const response = await request(wiki.app).get(url);
      expect(response.status).toBe(200);
      pages.push([...response.text.matchAll(/<a href="(\/wiki\/[^"]+)">/g)].map((match) => match[1]!));
      url = /<a href="([^"]+)" rel="next">/.exec(response.text)?.[1]?.replace(/&amp;/g, '&') ?? null;
    }
    return pages;
  }

  test('when the wiki has more pages than a slice, then /pages and /recent list each one exactly once across their slices', async () => {
    const prefix = uniqueName('Bulk');
    await insertPages(wiki.db, prefix, 130);
    // Written behind the app's back, as another instance would: lists show it within pageRowTtlMs.
    clock.advance(pageRowTtlMs + 1);
    const listed = await slices('/pages');
    expect(listed.length).toBeGreaterThan(1);
    for (const slice of listed) expect(slice.length).toBeLessThanOrEqual(100);
    const mine = listed.flat().filter((href) => href.startsWith(`/wiki/${prefix}_`));
    expect(mine).toHaveLength(130);
    expect(new Set(mine).size).toBe(130);

    const recent = (await slices('/recent')).flat().filter((href) => href.startsWith(`/wiki/${prefix}_`));
    expect(recent).toHaveLength(130);
    expect(new Set(recent).size).toBe(130);
  });

  test('when a page has many revisions, then its history comes in slices, newest first', async () => {
    const slug = uniqueName('Busy');
    await wiki.db.query(
      `WITH page AS (INSERT INTO pages (slug, title, body, revision) VALUES ($1, $1, 'text 60', 60) RETURNING id)
       INSERT INTO revisions (page_id, revision, body) SELECT page.id, n, 'text ' || n FROM page, generate_series(1, 60) n`,
      [slug],
    );
    const first = await request(wiki.app).get(`/wiki/${slug}/history`);
    const revisionsIn = (html: string) => [...html.matchAll(/\/rev\/(\d+)">/g)].map((match) => Number(match[1]));
    expect(revisionsIn(first.text)).toEqual(Array.from({ length: 50 }, (_, i) => 60 - i));
    const next = /<a href="([^"]+)" rel="next">/.exec(first.text)?.[1];
    expect(next).toBe(`/wiki/${slug}/history?before=11`);
    const second = await request(wiki.app).get(next!);
    expect(revisionsIn(second.text)).toEqual(Array.from({ length: 10 }, (_, i) => 10 - i));
    expect(second.text).not.toContain('rel="next"');
  });

  test.each(['/pages?after=..%2Fetc', '/recent?after=yesterday', '/wiki/Home/history?before=x'])(
    'when a list is asked to start at %s, then it answers 400',
    async (path) => {
      expect((await request(wiki.app).get(path)).status).toBe(400);
    },
  );
});

describe('edit conflicts', () => {
  test('when two editors save on the same base revision, then the second gets 409 with both texts and nothing is lost', async () => {
    const alice = await editor();
    const bob = await editor();
    const slug = uniqueName('Contested');
    await save(alice, slug, 'original');
    const aliceForm = await alice.get(`/wiki/${slug}/edit`);
    const bobForm = await bob.get(`/wiki/${slug}/edit`);
    const post = (person: typeof alice, form: typeof aliceForm, body: string) =>
      person.post(`/wiki/${slug}`, { [csrfField]: csrfTokenIn(form.text), body, summary: '', baseRevision: '1' });

    expect((await post(alice, aliceForm, 'alice was here')).status).toBe(303);
    const conflict = await post(bob, bobForm, 'bob <b>was</b> here');
    expect(conflict.status).toBe(409);
    expect(conflict.text).toContain('bob &lt;b&gt;was&lt;/b&gt; here');
    expect(conflict.text).toContain('alice was here');
    expect(conflict.text).toContain('name="baseRevision" value="2"');

    const stored = await request(wiki.app).get(`/api/pages/${slug}`);
    expect(stored.body).toMatchObject({ body: 'alice was here', revision: 2 });
  });

  test('when a save is refused for bad input, then the form comes back with the text', async () => {
    const person = await editor();
    const slug = uniqueName('TooLong');
    const form = await person.get(`/wiki/${slug}/edit`);
    const body = 'x'.repeat(100_001);
    const response = await person.post(`/wiki/${slug}`, { [csrfField]: csrfTokenIn(form.text), body, summary: '', baseRevision: '' });
    expect(response.status).toBe(400);
    expect(response.text).toContain('longer than 100,000 characters');
    expect(response.text).toContain(body);
  });
});

describe('search', () => {
  test('when pages match, then they are ranked with highlighted, escaped snippets', async () => {
    const person = await editor();
    const word = `zebra${Date.now().toString(36)}`;
    const strong = uniqueName('Strong');
    const weak = uniqueName('Weak');
    await save(person, weak, `Once we mention ${word} & then talk about Tom & Jerry entirely.`);
    await save(person, strong, `${word} ${word} ${word}: all about the ${word}.`);
    const response = await request(wiki.app).get(`/search?q=${word}`);
    expect(response.status).toBe(200);
    expect(response.text.indexOf(`/wiki/${strong}`)).toBeLessThan(response.text.indexOf(`/wiki/${weak}`));
    expect(response.text).toContain(`<mark>${word}</mark>`);
    expect(response.text).toContain('Tom &amp; Jerry');
    expect(response.text).not.toContain('Tom & Jerry');
  });

  test('when a word appears only far into a long page, then search still finds the page', async () => {
    const person = await editor();
    const word = `okapi${Date.now().toString(36)}`;
    const slug = uniqueName('Deep');
    await save(person, slug, `${'filler words here. '.repeat(400)}\n\nAt last: ${word}.`);
    const response = await request(wiki.app).get(`/search?q=${word}`);
    expect(response.text).toContain(`/wiki/${slug}`);
  });

  test('when nothing matches, then the page says so', async () => {
    const response = await request(wiki.app).get('/search?q=nothingmatchesthisqqq');
    expect(response.status).toBe(200);
    expect(response.text).toContain('No page matches');
  });
});

describe('hostile input', () => {
  test('when a page holds hostile markdown, then it renders inert', async () => {
    const person = await editor();
    const slug = uniqueName('Hostile');
    const hostile = [
      '<script>window.pwned = 1</script>',
      '<img src=x onerror="window.pwned = 1">',
      '[click](javascript:window.pwned=1)',
      '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
      '<a href="#" onclick="window.pwned=1">x</a>',
      '[[Page" onmouseover="alert(1)]]',
    ].join('\n\n');
    await save(person, slug, hostile);
    const page = await request(wiki.app).get(`/wiki/${slug}`);
    const content = /<div class="content">([\s\S]*?)<\/div>/.exec(page.text)?.[1] ?? '';
    expect(content).toContain('&lt;script&gt;');
    // Escaped text may mention these; no real tag may carry them.
    expect(content).not.toMatch(/<script|<[a-z][^>]*\son\w+\s*=|href="(javascript|data):/i);
    expect(content).toContain('&lt;img src=x onerror=');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
  });

  test('when input looks like SQL, then it is stored and shown verbatim', async () => {
    const person = await editor();
    const slug = uniqueName('Bobby');
    const body = "Robert'); DROP TABLE pages;-- and ' OR 1=1 --";
    expect((await save(person, slug, body, "'; DELETE FROM users; --")).status).toBe(303);
    const stored = await request(wiki.app).get(`/api/pages/${slug}`);
    expect(stored.body.body).toBe(body);
    expect((await request(wiki.app).get('/pages')).status).toBe(200);
    const search = await request(wiki.app).get(`/search?q=${encodeURIComponent("'); DROP TABLE pages;--")}`);
    expect(search.status).toBe(200);
  });

  test.each([
    ['/wiki/%E0%A4%A', 400],
    ['/wiki/..%2F..%2Fetc%2Fpasswd', 400],
    ['/wiki/a%00b', 400],
    [`/wiki/${'x'.repeat(300)}`, 400],
    ['/wiki/Home/rev/abc', 400],
    ['/wiki/Home/rev/99999999999999', 400],
    ['/wiki/Home/diff?from=1', 400],
    ['/wiki/Home/diff?from=1&to[]=2', 400],
    [`/search?q=${'a'.repeat(300)}`, 400],
    ['/wiki/Home/rev/999', 404],
    ['/no/such/route', 404],
  ])('when GET %s, then it answers %i, not 5xx', async (path, status) => {
    const response = await request(wiki.app).get(path);
    expect(response.status).toBe(status);
  });

  test('when the longest allowed text is in a script that takes three bytes a character, then it saves; one character more hands the editor back', async () => {
    const person = await editor();
    const slug = uniqueName('Longest');
    const form = await person.get(`/wiki/${slug}/edit`);
    const longest = '語'.repeat(pageRules.bodyMaxChars);
    const saved = await person.post(`/wiki/${slug}`, { [csrfField]: csrfTokenIn(form.text), body: longest, summary: '', baseRevision: '' });
    expect(saved.status).toBe(303);
    expect((await request(wiki.app).get(`/api/pages/${slug}`)).body.body).toBe(longest);

    const again = await person.get(`/wiki/${slug}/edit`);
    const tooLong = await person.post(`/wiki/${slug}`, {
      _csrf: csrfTokenIn(again.text),
      body: `${longest}語`,
      summary: '',
      baseRevision: '1',
    });
    expect(tooLong.status).toBe(400);
    expect(tooLong.text).toContain('The text is longer than 100,000 characters.');
    expect(tooLong.text).toContain(`${longest}語</textarea>`);
  });

  test('when a form body is malformed or huge, then it answers 4xx', async () => {
    const person = await editor();
    const slug = uniqueName('Malformed');
    const form = await person.get(`/wiki/${slug}/edit`);
    const token = csrfTokenIn(form.text);
    const cookies = person.cookieHeader();
    const huge = await request(wiki.app)
      .post(`/wiki/${slug}`)
      .type('form')
      .set('Cookie', cookies)
      .send(`_csrf=${token}&body=${'y'.repeat(1_200_000)}`);
    expect(huge.status).toBe(413);
    const badRevision = await person.post(`/wiki/${slug}`, { [csrfField]: token, body: 'text', baseRevision: 'seven' });
    expect(badRevision.status).toBe(400);
    expect(badRevision.text).toContain('text');
    // A broken percent-escape is not refused: the value is kept exactly as sent, so nothing is lost.
    const badEncoding = await request(wiki.app)
      .post(`/wiki/${slug}`)
      .type('form')
      .set('Cookie', cookies)
      .send(`_csrf=${token}&body=100%25%20sure%E0%A4%A&baseRevision=`);
    expect(badEncoding.status).toBe(303);
    expect((await request(wiki.app).get(`/api/pages/${slug}`)).body.body).toBe('100%25%20sure%E0%A4%A');
  });
});

describe('caching', () => {
  test('when a reader is anonymous, then page views may be cached briefly; when logged in, they are private', async () => {
    const anonymous = await request(wiki.app).get('/wiki/Home');
    expect(anonymous.headers['cache-control']).toBe('public, max-age=30, s-maxage=60, stale-if-error=86400');
    expect(anonymous.headers['set-cookie']).toBeUndefined();
    const person = await editor();
    const loggedIn = await person.get('/wiki/Home');
    expect(loggedIn.headers['cache-control']).toBe('private, no-store');
  });
});

test('every response says which instance served it, in a header and the footer', async () => {
  const response = await request(wiki.app).get('/wiki/Home');
  expect(response.headers[servedByHeader.toLowerCase()]).toBe('i-test/test-1a');
  expect(response.text).toContain('<code class="served-by">i-test/test-1a</code>');
});
