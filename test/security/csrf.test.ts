import request from 'supertest';
import { buildTestApp, type TestApp } from '../support/app';
import { csrfTokenIn, uniqueName, visitor } from '../support/browser-like';
import { csrfField } from '../../app/contracts';

// One CSRF token per session (or per anonymous visitor), reused on every page: no new token and
// no Set-Cookie on each view, and none at all on anonymous page views, which CloudFront caches.

let wiki: TestApp;
beforeAll(() => {
  wiki = buildTestApp();
});
afterAll(() => wiki.close());

function setCookies(response: request.Response): string[] {
  return (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
}

test('when a logged-in person views pages, then every form carries the same token and no view sets a cookie', async () => {
  const person = visitor(wiki.app);
  await person.signUp();
  const slug = uniqueName('Token');
  expect((await person.submit(`/wiki/${slug}/edit`, `/wiki/${slug}`, { body: 'words', baseRevision: '' })).status).toBe(303);
  const home = await person.get(`/wiki/${slug}`);
  const history = await person.get(`/wiki/${slug}/history`);
  expect(csrfTokenIn(home.text)).toBe(csrfTokenIn(history.text));
  expect(setCookies(home)).toEqual([]);
  expect(setCookies(history)).toEqual([]);
  expect((await person.post('/logout', { [csrfField]: csrfTokenIn(home.text) })).status).toBe(303);
});

test('when someone logs in again, then the token changes with the session', async () => {
  const person = visitor(wiki.app);
  const { username, password } = await person.signUp();
  const before = csrfTokenIn((await person.get('/wiki/Home')).text);
  expect((await person.post('/logout', { [csrfField]: before })).status).toBe(303);
  expect((await person.submit('/login', '/login', { username, password })).status).toBe(303);
  const after = csrfTokenIn((await person.get('/wiki/Home')).text);
  expect(after).not.toBe(before);
  // The old session's token is dead with it.
  expect((await person.post('/logout', { [csrfField]: before })).status).toBe(403);
});

test('when an anonymous person reads pages, then no response sets a cookie and each may be cached', async () => {
  const editor = visitor(wiki.app);
  await editor.signUp();
  const slug = uniqueName('Cached');
  expect((await editor.submit(`/wiki/${slug}/edit`, `/wiki/${slug}`, { body: 'words', baseRevision: '' })).status).toBe(303);
  for (const path of [`/wiki/${slug}`, `/wiki/${slug}/history`, `/wiki/${slug}/rev/1`, '/pages', '/recent', '/search?q=words']) {
    const response = await request(wiki.app).get(path);
    expect(response.status).toBe(200);
    expect(setCookies(response)).toEqual([]);
    expect(response.headers['cache-control']).toMatch(/^public/);
  }
});

test('when an anonymous visitor opens the log-in form twice, then the second view reuses the first token and sets no cookie', async () => {
  const person = visitor(wiki.app);
  const first = await person.get('/login');
  expect(setCookies(first)).toEqual([expect.stringMatching(/^cloudwiki\.csrf=[\w.-]+; Path=\/; HttpOnly; SameSite=Lax$/)]);
  const second = await person.get('/signup');
  expect(setCookies(second)).toEqual([]);
  expect(csrfTokenIn(second.text)).toBe(csrfTokenIn(first.text));
});

test("when an anonymous visitor's token is sent with another visitor's cookie, then it is refused", async () => {
  const token = csrfTokenIn((await visitor(wiki.app).get('/login')).text);
  const other = visitor(wiki.app);
  await other.get('/login');
  const response = await other.post('/login', { [csrfField]: token, username: 'someone', password: 'whatever123' });
  expect(response.status).toBe(403);
  expect(response.text).toContain('did not come from this site');
});

/** The editor form's own fields (not the logout form's), as a browser would post them on Save. */
function editorFormIn(html: string): { token: string; saves: boolean } {
  const form = /<form class="editor"[\s\S]*?<\/form>/.exec(html)?.[0] ?? '';
  return { token: /name="_csrf" value="([^"]*)"/.exec(form)?.[1] ?? '', saves: form.includes('type="submit"') };
}

test("when another site posts its text to a logged-in person's page without a token, then the text comes back in an editor that cannot save it", async () => {
  const person = visitor(wiki.app);
  await person.signUp();
  const slug = uniqueName('Planted');
  expect((await person.submit(`/wiki/${slug}/edit`, `/wiki/${slug}`, { body: 'mine', baseRevision: '' })).status).toBe(303);

  const refused = await person.post(`/wiki/${slug}`, { body: "the attacker's text", baseRevision: '1' });
  expect(refused.status).toBe(403);
  expect(refused.text).toContain('the attacker&#39;s text');
  const handedBack = editorFormIn(refused.text);
  expect(handedBack).toEqual({ token: '', saves: false });
  expect(refused.text).toContain(`open /wiki/${slug}/edit again`);

  // One click on what came back (the form as it is) saves nothing.
  const clicked = await person.post(`/wiki/${slug}`, { [csrfField]: handedBack.token, body: "the attacker's text", baseRevision: '1' });
  expect(clicked.status).toBe(403);
  const { body } = await request(wiki.app).get(`/api/pages/${slug}`).expect(200);
  expect(body.body).toBe('mine');
  // The person's own editor, reloaded, saves as before.
  expect(editorFormIn((await person.get(`/wiki/${slug}/edit`)).text).token).toBe(csrfTokenIn((await person.get(`/wiki/${slug}`)).text));
});

describe('cookies someone else chose (login CSRF: logging a victim in to the attacker’s account)', () => {
  let behindHttps: TestApp;
  beforeAll(() => {
    behindHttps = buildTestApp({ instanceId: 'i-https', config: { TRUST_PROXY: 'true' } });
  });
  afterAll(() => behindHttps.close());

  const cookiePairs = (response: request.Response) => setCookies(response).map((line) => line.split(';')[0]!);

  test('when an attacker picks the anonymous visitor id, fetches its token and posts a log-in with both, then 403', async () => {
    const attacker = visitor(wiki.app);
    const { username, password } = await attacker.signUp();
    const chosen = `cloudwiki.csrf=${'A'.repeat(43)}`;
    const form = await request(wiki.app).get('/login').set('Cookie', chosen);
    // The chosen id is not taken up: a new, signed one is set in its place.
    expect(cookiePairs(form)).toEqual([expect.stringMatching(/^cloudwiki\.csrf=[\w-]{43}\.[\w-]{43}$/)]);
    const planted = await request(wiki.app)
      .post('/login')
      .type('form')
      .set('Cookie', chosen)
      .send({ [csrfField]: csrfTokenIn(form.text), username, password });
    expect(planted.status).toBe(403);
    expect(setCookies(planted).some((line) => line.startsWith('cloudwiki.sid='))).toBe(false);
  });

  test('when the request came over HTTPS, then the visitor and session cookies are __Host- prefixed and the plain names are ignored', async () => {
    const https = (path: string) => request(behindHttps.app).get(path).set('X-Forwarded-Proto', 'https');
    const form = await https('/signup');
    expect(setCookies(form)).toEqual([expect.stringMatching(/^__Host-cloudwiki\.csrf=[\w.-]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/)]);
    const signedUp = await request(behindHttps.app)
      .post('/signup')
      .type('form')
      .set('X-Forwarded-Proto', 'https')
      .set('Cookie', cookiePairs(form).join('; '))
      .send({ [csrfField]: csrfTokenIn(form.text), username: uniqueName('host'), password: 'correct horse battery' });
    expect(signedUp.status).toBe(303);
    const session = cookiePairs(signedUp).find((pair) => pair.startsWith('__Host-cloudwiki.sid='));
    expect(setCookies(signedUp).find((line) => line.startsWith('__Host-cloudwiki.sid='))).toMatch(
      /; Path=\/; .*HttpOnly; Secure; SameSite=Lax$/,
    );
    expect((await https('/api/me').set('Cookie', session!)).body.user).not.toBeNull();

    // The same values under the names a sibling subdomain could set are nobody's over HTTPS.
    const planted = session!.replace('__Host-', '');
    expect((await https('/api/me').set('Cookie', planted)).body.user).toBeNull();
    const plantedForm = await https('/login').set('Cookie', cookiePairs(form)[0]!.replace('__Host-', ''));
    expect(setCookies(plantedForm)).toHaveLength(1);
  });
});
