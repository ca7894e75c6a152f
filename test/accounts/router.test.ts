import request from 'supertest';
import crypto from 'node:crypto';
import { createPasswordHashing } from '../../app/accounts/passwords';
import { buildTestApp, type TestApp } from '../support/app';
import { csrfTokenIn, uniqueName, visitor } from '../support/browser-like';
import { csrfField, sessionCookieName } from '../../app/contracts';

let wiki: TestApp;
beforeAll(() => {
  wiki = buildTestApp({ config: { LOGIN_FAILURES_PER_15_MIN: '3' } });
});
afterAll(() => wiki.close());

describe('accounts', () => {
  test('when someone signs up, then they are logged in and can log out and back in', async () => {
    const person = visitor(wiki.app);
    const { username, password } = await person.signUp();
    expect((await person.get('/wiki/Home')).text).toContain(`<span class="who">${username}</span>`);

    const home = await person.get('/wiki/Home');
    const loggedOut = await person.post('/logout', { [csrfField]: csrfTokenIn(home.text) });
    expect(loggedOut.status).toBe(303);
    expect((await person.get('/wiki/Home')).text).not.toContain('class="who"');

    const loggedIn = await person.submit('/login', '/login', { username, password });
    expect(loggedIn.status).toBe(303);
    expect((await person.get('/wiki/Home')).text).toContain(`<span class="who">${username}</span>`);
  });

  test('when the password is wrong or the user unknown, then the answer is the same 401', async () => {
    const { username } = await visitor(wiki.app).signUp();
    const wrong = await visitor(wiki.app).submit('/login', '/login', { username, password: 'not the password' });
    const unknown = await visitor(wiki.app).submit('/login', '/login', { username: uniqueName('ghost'), password: 'whatever123' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.text).toContain('do not match an account');
    expect(unknown.text).toContain('do not match an account');
  });

  test('when a username is taken (in any case), then sign-up answers 409', async () => {
    const { username } = await visitor(wiki.app).signUp();
    const again = await visitor(wiki.app).submit('/signup', '/signup', { username: username.toUpperCase(), password: 'another password' });
    expect(again.status).toBe(409);
    expect(again.text).toContain('is taken');
  });

  test('when a sign-up names a taken account, then it is refused before any password is hashed', async () => {
    const { username } = await visitor(wiki.app).signUp();
    const form = await visitor(wiki.app).get('/signup');
    // Watching scrypt itself: every hash the app makes goes through it.
    const hashing = jest.spyOn(crypto, 'scrypt');
    try {
      const again = await request(wiki.app)
        .post('/signup')
        .type('form')
        .set('Cookie', (form.headers['set-cookie'] as unknown as string[]).map((line) => line.split(';')[0]).join('; '))
        .send({ [csrfField]: csrfTokenIn(form.text), username: ` ${username.toUpperCase()}`, password: 'another fine password' });
      expect(again.status).toBe(409);
      expect(hashing).not.toHaveBeenCalled();
    } finally {
      hashing.mockRestore();
    }
  });

  test('when sign-up input is bad, then every problem is listed and the username kept', async () => {
    const response = await visitor(wiki.app).submit('/signup', '/signup', { username: 'a b', password: 'short' });
    expect(response.status).toBe(400);
    expect(response.text).toContain('Usernames are 3–32 letters');
    expect(response.text).toContain('at least 8 characters');
    expect(response.text).toContain('value="a b"');
  });

  test('when a new password is one of the most common, then sign-up refuses it and makes no account', async () => {
    for (const password of ['Password1', 'qwertyuiop', 'iloveyou']) {
      const username = uniqueName('common');
      const response = await visitor(wiki.app).submit('/signup', '/signup', { username, password });
      expect(response.status).toBe(400);
      expect(response.text).toContain('one of the most common');
      expect(response.text).toContain(`value="${username}"`);
      const { rows } = await wiki.db.query('SELECT 1 FROM users WHERE username = $1', [username]);
      expect(rows).toHaveLength(0);
    }
  });

  test('when an account made before the list has a common password, then it still logs in', async () => {
    const username = uniqueName('older');
    await wiki.db.query('INSERT INTO users (username, password_hash) VALUES ($1, $2)', [
      username,
      await createPasswordHashing({ running: 1, waiting: 1, perClient: 1 }).hash('password1'),
    ]);
    expect((await visitor(wiki.app).submit('/login', '/login', { username, password: 'password1' })).status).toBe(303);
  });

  test('when passwords are stored, then they are scrypt hashes, never the password', async () => {
    const { username, password } = await visitor(wiki.app).signUp();
    const { rows } = await wiki.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE username = $1', [username]);
    expect(rows[0]!.password_hash).toMatch(/^scrypt\$16384\$8\$5\$/);
    expect(rows[0]!.password_hash).not.toContain(password);
  });

  test('when login fails repeatedly for one account, then further attempts get 429', async () => {
    const { username, password } = await visitor(wiki.app).signUp();
    const attacker = visitor(wiki.app);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect((await attacker.submit('/login', '/login', { username, password: `guess-${attempt}-wrong` })).status).toBe(401);
    }
    const blocked = await attacker.submit('/login', '/login', { username, password });
    expect(blocked.status).toBe(429);
    expect(blocked.text).toContain('Too many failed attempts');
  });

  test('when login succeeds after a redirect to it, then it returns to a local page only', async () => {
    const { username, password } = await visitor(wiki.app).signUp();
    const local = await visitor(wiki.app).submit('/login?next=/wiki/Somewhere/edit', '/login', {
      username,
      password,
      next: '/wiki/Somewhere/edit',
    });
    expect(local.headers.location).toBe('/wiki/Somewhere/edit');
    const offsite = await visitor(wiki.app).submit('/login', '/login', { username, password, next: '//evil.example/steal' });
    expect(offsite.headers.location).toBe('/wiki/Home');
  });
});

describe('CSRF protection', () => {
  test('when a form is posted without the token, then it is refused with 403 and nothing changes', async () => {
    const person = visitor(wiki.app);
    await person.signUp();
    const slug = uniqueName('Csrf');
    const forged = await person.post(`/wiki/${slug}`, { body: 'forged', baseRevision: '' });
    expect(forged.status).toBe(403);
    expect(forged.text).toContain('did not come from this site');
    expect((await request(wiki.app).get(`/wiki/${slug}`)).status).toBe(404);
  });

  test("when a token from another person's session is used, then it is refused", async () => {
    const victim = visitor(wiki.app);
    const attacker = visitor(wiki.app);
    await victim.signUp();
    await attacker.signUp();
    const attackerToken = csrfTokenIn((await attacker.get('/wiki/Home')).text);
    const forged = await victim.post('/logout', { [csrfField]: attackerToken });
    expect(forged.status).toBe(403);
  });

  test('when sign-up is posted without a token, then no account is created', async () => {
    const username = uniqueName('nocsrf');
    const response = await request(wiki.app).post('/signup').type('form').send({ username, password: 'password123' });
    expect(response.status).toBe(403);
    const { rows } = await wiki.db.query('SELECT 1 FROM users WHERE username = $1', [username]);
    expect(rows).toHaveLength(0);
  });
});

test('when an anonymous person opens an editor, then they are sent to log in and back', async () => {
  const response = await request(wiki.app).get('/wiki/Anything/edit');
  expect(response.status).toBe(303);
  expect(response.headers.location).toBe(`/login?next=${encodeURIComponent('/wiki/Anything/edit')}`);
});

test('when a session ends while editing, then saving returns the text with a 401', async () => {
  const person = visitor(wiki.app);
  await person.signUp();
  const form = await person.get('/wiki/Expired/edit');
  const token = csrfTokenIn(form.text);
  person.forget(sessionCookieName);
  const response = await person.post('/wiki/Expired', { [csrfField]: token, body: 'my precious words', baseRevision: '' });
  expect(response.status).toBe(401);
  expect(response.text).toContain('my precious words');
});

test('when a save carries a stale CSRF token, then it is refused with 403 and the text handed back', async () => {
  const person = visitor(wiki.app);
  await person.signUp();
  const slug = uniqueName('Stale');
  const response = await person.post(`/wiki/${slug}`, { [csrfField]: 'stale.token', body: 'words worth keeping', baseRevision: '' });
  expect(response.status).toBe(403);
  expect(response.text).toContain('words worth keeping');
  expect(csrfTokenIn(response.text)).not.toBe('stale.token');
  expect((await request(wiki.app).get(`/wiki/${slug}`)).status).toBe(404);
});
