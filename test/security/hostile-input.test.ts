import type { Express } from 'express';
import request from 'supertest';
import { csrfField, sessionCookieName, whoAmIPath } from '../../app/contracts';
import { buildTestApp, type TestApp } from '../support/app';
import { csrfTokenIn, uniqueName, visitor } from '../support/browser-like';

// What an attacker sends rather than what a form sends. Each case must end in a 4xx that says
// what to fix, and change nothing.

let wiki: TestApp;
beforeAll(() => {
  wiki = buildTestApp({ config: { LOGIN_FAILURES_PER_15_MIN: '3' } });
});
afterAll(() => wiki.close());

type Person = ReturnType<typeof visitor>;

function cookiesOf(person: Person): string {
  return person.cookieHeader();
}

/** A page with two revisions, written by a logged-in editor. */
async function pageWithHistory(): Promise<{ editor: Person; slug: string }> {
  const editor = visitor(wiki.app);
  await editor.signUp();
  const slug = uniqueName('Hostile');
  expect((await editor.submit(`/wiki/${slug}/edit`, `/wiki/${slug}`, { body: 'first', baseRevision: '' })).status).toBe(303);
  expect((await editor.submit(`/wiki/${slug}/edit`, `/wiki/${slug}`, { body: 'second', baseRevision: '1' })).status).toBe(303);
  return { editor, slug };
}

async function currentBody(slug: string): Promise<{ body: string; revision: number }> {
  const { body } = await request(wiki.app).get(`/api/pages/${slug}`).expect(200);
  return { body: body.body, revision: body.revision };
}

/** Every POST, PUT, PATCH and DELETE route in the app's route tables, as "METHOD /path". */
function stateChangingRoutes(app: Express): string[] {
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
  const walk = (stack: Layer[]): string[] =>
    stack.flatMap((layer) => {
      if (layer.route)
        return Object.keys(layer.route.methods)
          .filter((method) => !['get', 'head', 'options'].includes(method))
          .map((method) => `${method.toUpperCase()} ${layer.route!.path}`);
      return layer.handle?.stack ? walk(layer.handle.stack) : [];
    });
  return walk((app as unknown as { router: { stack: Layer[] } }).router.stack).sort();
}

describe('a multipart form without a CSRF token (the old global skip for multipart bodies)', () => {
  test('when the app gains a state-changing route, then this suite covers it', () => {
    expect(stateChangingRoutes(wiki.app)).toEqual(
      [
        'POST /account/password',
        'POST /login',
        'POST /logout',
        'POST /logout-everywhere',
        'POST /signup',
        'POST /wiki/:slug',
        'POST /wiki/:slug/revert/:revision',
        'POST /wiki/:slug/uploads',
        'PUT /api/pages/:slug',
      ].sort(),
    );
  });

  test('when it is posted to sign up, then 403 and no account', async () => {
    const username = uniqueName('mpsignup');
    const response = await request(wiki.app).post('/signup').field('username', username).field('password', 'a fine long password');
    expect(response.status).toBe(403);
    const { rows } = await wiki.db.query('SELECT 1 FROM users WHERE username = $1', [username]);
    expect(rows).toHaveLength(0);
  });

  test('when it is posted to log in, then 403 and no session', async () => {
    const { username, password } = await visitor(wiki.app).signUp();
    const response = await request(wiki.app).post('/login').field('username', username).field('password', password);
    expect(response.status).toBe(403);
    expect(String(response.headers['set-cookie'] ?? '')).not.toContain(sessionCookieName);
  });

  test('when it is posted to log out, then 403 and the person is still logged in', async () => {
    const person = visitor(wiki.app);
    const { username } = await person.signUp();
    const response = await request(wiki.app).post('/logout').set('Cookie', cookiesOf(person)).field('anything', '1');
    expect(response.status).toBe(403);
    expect((await person.get(whoAmIPath)).body).toEqual({ user: { username } });
  });

  test('when it is posted to log out everywhere, then 403 and the person is still logged in', async () => {
    const person = visitor(wiki.app);
    const { username } = await person.signUp();
    const response = await request(wiki.app).post('/logout-everywhere').set('Cookie', cookiesOf(person)).field('anything', '1');
    expect(response.status).toBe(403);
    expect((await person.get(whoAmIPath)).body).toEqual({ user: { username } });
  });

  test('when it is posted to change a password, then 403 and the old password still logs in', async () => {
    const person = visitor(wiki.app);
    const { username, password } = await person.signUp();
    const response = await request(wiki.app)
      .post('/account/password')
      .set('Cookie', cookiesOf(person))
      .field('currentPassword', password)
      .field('newPassword', 'chosen by the attacker');
    expect(response.status).toBe(403);
    expect((await visitor(wiki.app).submit('/login', '/login', { username, password })).status).toBe(303);
  });

  test('when it is posted to save a page, then 403 and the page is unchanged', async () => {
    const { editor, slug } = await pageWithHistory();
    const response = await request(wiki.app)
      .post(`/wiki/${slug}`)
      .set('Cookie', cookiesOf(editor))
      .field('body', 'forged')
      .field('baseRevision', '2');
    expect(response.status).toBe(403);
    expect(await currentBody(slug)).toEqual({ body: 'second', revision: 2 });
  });

  test('when it is posted to revert a page, then 403 and no new revision', async () => {
    const { editor, slug } = await pageWithHistory();
    const response = await request(wiki.app).post(`/wiki/${slug}/revert/1`).set('Cookie', cookiesOf(editor)).field('anything', '1');
    expect(response.status).toBe(403);
    expect(await currentBody(slug)).toEqual({ body: 'second', revision: 2 });
  });

  test('when it is posted to attach a file, then 403 and nothing is attached', async () => {
    const { editor, slug } = await pageWithHistory();
    const response = await request(wiki.app)
      .post(`/wiki/${slug}/uploads`)
      .set('Cookie', cookiesOf(editor))
      .attach('file', Buffer.from('plain words'), 'note.txt');
    expect(response.status).toBe(403);
    const { rows } = await wiki.db.query('SELECT 1 FROM uploads u JOIN pages p ON p.id = u.page_id WHERE p.slug = $1', [slug]);
    expect(rows).toHaveLength(0);
  });

  test('when it is sent to the JSON API, then 415 (JSON only is that API’s CSRF defence) and the page is unchanged', async () => {
    const { editor, slug } = await pageWithHistory();
    const response = await request(wiki.app)
      .put(`/api/pages/${slug}`)
      .set('Cookie', cookiesOf(editor))
      .field('body', 'forged')
      .field('baseRevision', '2');
    expect(response.status).toBe(415);
    expect(await currentBody(slug)).toEqual({ body: 'second', revision: 2 });
  });
});

describe('NUL bytes (PostgreSQL text cannot hold them)', () => {
  test('when a search holds one, then 400, for anonymous and logged-in people alike', async () => {
    const anonymous = await request(wiki.app).get('/search?q=wiki%00');
    expect(anonymous.status).toBe(400);
    expect(anonymous.text).toContain('NUL character');
    const person = visitor(wiki.app);
    await person.signUp();
    expect((await person.get('/search?q=%00')).status).toBe(400);
  });

  test('when a page body holds one, then 400 and the editor comes back with the text', async () => {
    const { editor, slug } = await pageWithHistory();
    const response = await editor.submit(`/wiki/${slug}/edit`, `/wiki/${slug}`, {
      body: 'my careful words\u0000 and more of them',
      baseRevision: '2',
    });
    expect(response.status).toBe(400);
    expect(response.text).toContain('NUL character');
    expect(response.text).toContain('my careful words\uFFFD and more of them');
    expect(await currentBody(slug)).toEqual({ body: 'second', revision: 2 });
  });

  test('when a summary holds one, then 400 and the editor keeps body and summary', async () => {
    const { editor, slug } = await pageWithHistory();
    const response = await editor.submit(`/wiki/${slug}/edit`, `/wiki/${slug}`, {
      body: 'third',
      summary: 'why\u0000',
      baseRevision: '2',
    });
    expect(response.status).toBe(400);
    expect(response.text).toContain('third</textarea>');
    expect(response.text).toContain('value="why\uFFFD"');
    expect(await currentBody(slug)).toEqual({ body: 'second', revision: 2 });
  });

  test('when the JSON API gets one in the body or summary, then 400 naming the field', async () => {
    const { editor, slug } = await pageWithHistory();
    const inBody = await editor.putJson(`/api/pages/${slug}`, { body: 'x\u0000', baseRevision: 2 });
    expect(inBody.status).toBe(400);
    expect(inBody.body.error).toMatch(/^body: .*NUL/);
    const inSummary = await editor.putJson(`/api/pages/${slug}`, { body: 'x', summary: '\u0000', baseRevision: 2 });
    expect(inSummary.status).toBe(400);
    expect(inSummary.body.error).toMatch(/^summary: .*NUL/);
    expect(await currentBody(slug)).toEqual({ body: 'second', revision: 2 });
  });
});

describe('integers beyond what PostgreSQL holds', () => {
  test('when the JSON API gets baseRevision 2147483648, then 400 naming the field', async () => {
    const { editor, slug } = await pageWithHistory();
    const response = await editor.putJson(`/api/pages/${slug}`, { body: 'x', baseRevision: 2147483648 });
    expect(response.status).toBe(400);
    expect(response.body.error).toContain('baseRevision');
  });

  test('when the form, a revert or a URL carries one, then 400, and the editor keeps the text', async () => {
    const { editor, slug } = await pageWithHistory();
    const saved = await editor.submit(`/wiki/${slug}/edit`, `/wiki/${slug}`, { body: 'kept text', baseRevision: '2147483648' });
    expect(saved.status).toBe(400);
    expect(saved.text).toContain('kept text');
    const page = await editor.get(`/wiki/${slug}`);
    expect((await editor.post(`/wiki/${slug}/revert/2147483648`, { [csrfField]: csrfTokenIn(page.text) })).status).toBe(400);
    expect((await request(wiki.app).get(`/wiki/${slug}/rev/99999999999`)).status).toBe(400);
    expect((await request(wiki.app).get(`/wiki/${slug}/diff?from=1&to=2147483648`)).status).toBe(400);
    expect(await currentBody(slug)).toEqual({ body: 'second', revision: 2 });
  });
});

describe('a recent-changes cursor edited by hand', () => {
  test.each([
    '2026-99-99T99:99:99.000000Z_1_1',
    '2026-02-30T12:00:00.000000Z_1_1',
    '0000-01-01T00:00:00.000000Z_1_1',
    '2026-01-01T00:00:00.000000Z_9999999999999999999_1',
    '2026-01-01T00:00:00.000000Z_1_9999999999',
  ])('when it is %s, then 400 saying what “after” must be, for anonymous and logged-in people alike', async (after) => {
    const person = visitor(wiki.app);
    await person.signUp();
    for (const response of [await request(wiki.app).get(`/recent?after=${after}`), await person.get(`/recent?after=${after}`)]) {
      expect(response.status).toBe(400);
      expect(response.text).toContain('“after” must be a position in the list');
    }
  });

  test('when every part is in range, then the list continues from there', async () => {
    expect((await request(wiki.app).get('/recent?after=2026-01-01T00:00:00.000000Z_1_1')).status).toBe(200);
  });
});

describe('malformed multipart bodies on the upload route', () => {
  async function rawUpload(contentType: string, body: string) {
    const { editor, slug } = await pageWithHistory();
    const response = await request(wiki.app)
      .post(`/wiki/${slug}/uploads`)
      .set('Cookie', cookiesOf(editor))
      .set('Content-Type', contentType)
      .send(body);
    const { rows } = await wiki.db.query('SELECT 1 FROM uploads u JOIN pages p ON p.id = u.page_id WHERE p.slug = $1', [slug]);
    return { response, stored: rows.length };
  }

  test('when the boundary is missing, then 400 and nothing is stored', async () => {
    const { response, stored } = await rawUpload('multipart/form-data', 'no boundary anywhere');
    expect(response.status).toBe(400);
    expect(response.text).toContain('incomplete or malformed');
    expect(stored).toBe(0);
  });

  test('when a part is cut short, then 400 and nothing is stored', async () => {
    const truncated = [
      '--XyZ',
      'Content-Disposition: form-data; name="file"; filename="a.txt"',
      'Content-Type: text/plain',
      '',
      'half a fi',
    ].join('\r\n');
    const { response, stored } = await rawUpload('multipart/form-data; boundary=XyZ', truncated);
    expect(response.status).toBe(400);
    expect(stored).toBe(0);
  });

  test('when a part header is malformed, then 400', async () => {
    const { response } = await rawUpload('multipart/form-data; boundary=XyZ', '--XyZ\r\nthis is not a header\r\n\r\nx\r\n--XyZ--\r\n');
    expect(response.status).toBe(400);
  });
});

describe('padded and re-cased usernames at log-in', () => {
  test('when failures use variants of one name, then they count against that one account', async () => {
    const { username, password } = await visitor(wiki.app).signUp(uniqueName('carol').toLowerCase());
    const attacker = visitor(wiki.app);
    for (const variant of [` ${username}`, `\u2003${username}`, `${username.toUpperCase()}\t`]) {
      expect((await attacker.submit('/login', '/login', { username: variant, password: 'a wrong guess' })).status).toBe(401);
    }
    const blocked = await attacker.submit('/login', '/login', { username: ` ${username} `, password });
    expect(blocked.status).toBe(429);
    expect(blocked.text).toContain('Too many failed attempts');
    expect(blocked.headers['set-cookie'] ?? []).not.toEqual(expect.arrayContaining([expect.stringContaining(sessionCookieName)]));
  });

  test('when a padded name has the right password, then it logs in to the account', async () => {
    const { username, password } = await visitor(wiki.app).signUp();
    const person = visitor(wiki.app);
    expect((await person.submit('/login', '/login', { username: `\u2003${username.toUpperCase()} `, password })).status).toBe(303);
    expect((await person.get(whoAmIPath)).body).toEqual({ user: { username } });
  });
});

describe('comparisons that would cost quadratic time (an anonymous diff held a worker for seconds)', () => {
  const unlike = { older: 'a\n'.repeat(50_000), newer: 'b\n'.repeat(50_000) };

  test('when anyone asks for the diff of two 50,000-line revisions with no line in common, then 200 saying they are too far apart', async () => {
    const editor = visitor(wiki.app);
    await editor.signUp();
    const slug = uniqueName('Unlike');
    expect((await editor.putJson(`/api/pages/${slug}`, { body: unlike.older, baseRevision: null })).status).toBe(201);
    expect((await editor.putJson(`/api/pages/${slug}`, { body: unlike.newer, baseRevision: 1 })).status).toBe(200);
    const diff = await request(wiki.app).get(`/wiki/${slug}/diff?from=1&to=2`);
    expect(diff.status).toBe(200);
    expect(diff.text).toContain('differ in too many lines to compare');
    expect(diff.text).toContain(`href="/wiki/${slug}/rev/1"`);
  });

  test('when an edit conflict has such texts, then 409 with both texts and no comparison', async () => {
    const editor = visitor(wiki.app);
    await editor.signUp();
    const slug = uniqueName('UnlikeConflict');
    expect((await editor.putJson(`/api/pages/${slug}`, { body: 'first\n', baseRevision: null })).status).toBe(201);
    expect((await editor.putJson(`/api/pages/${slug}`, { body: unlike.older, baseRevision: 1 })).status).toBe(200);
    const conflict = await editor.submit(`/wiki/${slug}/edit`, `/wiki/${slug}`, { body: unlike.newer, baseRevision: '1' });
    expect(conflict.status).toBe(409);
    expect(conflict.text).toContain('differ in too many lines to compare');
    expect(conflict.text).toContain(unlike.newer);
    expect(conflict.text).toContain(unlike.older);
  });
});
