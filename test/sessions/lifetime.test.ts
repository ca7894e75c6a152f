import request from 'supertest';
import { csrfField, sessionCookieName, whoAmIPath } from '../../app/contracts';
import { buildTestApp, type TestApp } from '../support/app';
import { csrfTokenIn, uniqueName, visitor } from '../support/browser-like';

// Session lifetime rules: renewed under a new id, never past 30 days from the log-in, ended
// everywhere by a password change (but for the session that made it) or by "log out everywhere".
// Two instances share the session table, as EC2 instances share DynamoDB.

const day = 24 * 60 * 60 * 1000;
let first: TestApp;
let second: TestApp;
beforeAll(() => {
  first = buildTestApp({ instanceId: 'i-life-a', sessionCacheMs: 0 });
  second = buildTestApp({ instanceId: 'i-life-b', sessionCacheMs: 0 });
});
afterAll(() => Promise.all([first.close(), second.close()]));

async function whoIs(app: TestApp['app'], person: ReturnType<typeof visitor>) {
  const cookie = `${sessionCookieName}=${person.cookie(sessionCookieName) ?? ''}`;
  return (await request(app).get(whoAmIPath).set('Cookie', cookie)).body.user as { username: string } | null;
}

test('when a person uses the wiki every four days, then each renewal changes the id, and 30 days after the log-in the session ends anyway', async () => {
  const person = visitor(first.app);
  const { username } = await person.signUp();
  const startedAt = Date.now();
  jest.useFakeTimers({ now: startedAt, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'queueMicrotask'] });
  try {
    const ids = new Set([person.cookie(sessionCookieName)]);
    for (let days = 4; days <= 28; days += 4) {
      jest.setSystemTime(startedAt + days * day);
      expect((await person.get(whoAmIPath)).body.user).toEqual({ username });
      ids.add(person.cookie(sessionCookieName));
    }
    expect(ids.size).toBe(8);
    // Three days after the last renewal: well inside the 7 idle days, but past 30 since the log-in.
    jest.setSystemTime(startedAt + 31 * day);
    expect((await person.get(whoAmIPath)).body.user).toBeNull();
    expect(await whoIs(second.app, person)).toBeNull();
  } finally {
    jest.useRealTimers();
  }
});

test('when a person changes their password, then their other sessions end on every instance, this one goes on, and only the new password logs in', async () => {
  const here = visitor(first.app);
  const { username, password } = await here.signUp();
  const elsewhere = visitor(second.app);
  expect((await elsewhere.submit('/login', '/login', { username, password })).status).toBe(303);
  expect(await whoIs(second.app, elsewhere)).toEqual({ username });

  const form = await here.get('/account/password');
  expect(form.status).toBe(200);
  const wrong = await here.post('/account/password', {
    _csrf: csrfTokenIn(form.text),
    currentPassword: 'not it at all',
    newPassword: 'a brand new passphrase',
  });
  expect(wrong.status).toBe(401);
  const changed = await here.post('/account/password', {
    _csrf: csrfTokenIn(form.text),
    currentPassword: password,
    newPassword: 'a brand new passphrase',
  });
  expect(changed.status).toBe(303);

  expect(await whoIs(first.app, here)).toEqual({ username });
  expect(await whoIs(second.app, here)).toEqual({ username });
  expect(await whoIs(first.app, elsewhere)).toBeNull();
  expect(await whoIs(second.app, elsewhere)).toBeNull();
  expect((await visitor(second.app).submit('/login', '/login', { username, password })).status).toBe(401);
  expect((await visitor(second.app).submit('/login', '/login', { username, password: 'a brand new passphrase' })).status).toBe(303);
});

test('when a person logs out everywhere, then every session of theirs ends, on every instance, and other people stay logged in', async () => {
  const here = visitor(first.app);
  const { username, password } = await here.signUp();
  const elsewhere = visitor(second.app);
  expect((await elsewhere.submit('/login', '/login', { username, password })).status).toBe(303);
  const someoneElse = visitor(second.app);
  const other = await someoneElse.signUp(uniqueName('other'));

  const page = await here.get('/account/password');
  expect((await here.post('/logout-everywhere', { [csrfField]: csrfTokenIn(page.text) })).status).toBe(303);
  expect(await whoIs(first.app, here)).toBeNull();
  expect(await whoIs(first.app, elsewhere)).toBeNull();
  expect(await whoIs(second.app, elsewhere)).toBeNull();
  expect(await whoIs(second.app, someoneElse)).toEqual({ username: other.username });
});
