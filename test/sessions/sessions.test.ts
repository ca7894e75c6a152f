import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import cookieParser from 'cookie-parser';
import express from 'express';
import { createSessions, sessionMaxAgeMs } from '../../app/sessions/sessions';
import { createLogger } from '../../app/platform/logger';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { sign } from 'cookie-signature';
import request from 'supertest';
import { testClock } from '../support/clock';
import { buildTestApp, type TestApp } from '../support/app';
import { csrfField, local, servedByHeader, sessionCookieName, whoAmIPath } from '../../app/contracts';
import { testSecret } from '../support/names';
import { csrfTokenIn, uniqueName, visitor } from '../support/browser-like';

// The app's DynamoDB client caches its middleware stack at the first request (cacheMiddleware), so
// one counting middleware goes on each client before it sends anything, feeding every counter.
const commandListeners = new WeakMap<DynamoDBClient, Set<(name: string) => void>>();

/** Counts the DynamoDB commands a client sends, by name, from now on. */
function countCommands(client: DynamoDBClient) {
  let listeners = commandListeners.get(client);
  if (!listeners) {
    const installed = new Set<(name: string) => void>();
    listeners = installed;
    commandListeners.set(client, installed);
    client.middlewareStack.add(
      (next, context) => (args) => {
        for (const listener of installed) listener(context.commandName!);
        return next(args);
      },
      { step: 'initialize', name: 'countCommands' },
    );
  }
  const counts: Record<string, number> = {};
  listeners.add((name) => (counts[name] = (counts[name] ?? 0) + 1));
  return {
    reset: () => Object.keys(counts).forEach((name) => delete counts[name]),
    reads: () => counts.GetItemCommand ?? 0,
    writes: () => (counts.PutItemCommand ?? 0) + (counts.UpdateItemCommand ?? 0) + (counts.DeleteItemCommand ?? 0),
    all: () => ({ ...counts }),
  };
}

describe('sessions in DynamoDB', () => {
  let first: TestApp;
  let second: TestApp;
  beforeAll(() => {
    first = buildTestApp({ instanceId: 'i-first' });
    second = buildTestApp({ instanceId: 'i-second' });
    countCommands(first.dynamodb);
  });
  afterAll(async () => {
    await first.close();
    await second.close();
  });

  test('when a reader has no session cookie, then a page view costs no DynamoDB request at all', async () => {
    const counter = countCommands(first.dynamodb);
    await request(first.app).get('/pages').expect(200);
    await request(first.app).get('/recent').expect(200);
    expect(counter.all()).toEqual({});
  });

  test('when a logged-in session is unchanged and not cached, then a page view costs one read and no write', async () => {
    const uncached = buildTestApp({ instanceId: 'i-uncached', sessionCacheMs: 0 });
    try {
      const counter = countCommands(uncached.dynamodb);
      const person = visitor(uncached.app);
      await person.signUp();
      counter.reset();
      for (let view = 0; view < 5; view += 1) await person.get('/pages').then((r) => expect(r.status).toBe(200));
      expect(counter.reads()).toBe(5);
      expect(counter.writes()).toBe(0);
    } finally {
      await uncached.close();
    }
  });

  test('when a logged-in session is unchanged, then page views cost no write, and at most one read each', async () => {
    const counter = countCommands(first.dynamodb);
    const person = visitor(first.app);
    await person.signUp();
    counter.reset();
    for (let view = 0; view < 5; view += 1) await person.get('/pages').then((r) => expect(r.status).toBe(200));
    expect(counter.reads()).toBeGreaterThanOrEqual(1);
    expect(counter.reads()).toBeLessThanOrEqual(5);
    expect(counter.writes()).toBe(0);
  });

  test('when a session is past half its lifetime, then one page view renews it under a new id (the old one dies), and the next costs no write', async () => {
    const person = visitor(first.app);
    const { username } = await person.signUp();
    // Age the stored session: as if the user logged in five and a half days ago.
    const oldCookie = person.cookie(sessionCookieName)!;
    const signed = decodeURIComponent(oldCookie);
    const key = { id: { S: `sess:${signed.slice(2, signed.lastIndexOf('.'))}` } };
    const stored = await first.dynamodb.send(new GetItemCommand({ TableName: local.sessionTable, Key: key }));
    const session = JSON.parse(stored.Item!.sess!.S!);
    session.cookie.expires = new Date(Date.now() + sessionMaxAgeMs / 4).toISOString();
    await first.dynamodb.send(
      new PutItemCommand({ TableName: local.sessionTable, Item: { ...stored.Item!, sess: { S: JSON.stringify(session) } } }),
    );

    const counter = countCommands(first.dynamodb);
    const renewing = await person.get('/pages');
    expect(renewing.text).toContain(`<span class="who">${username}</span>`);
    // The old item deleted, the new one written, and the new id added to the user's list.
    expect(counter.all()).toMatchObject({ DeleteItemCommand: 1, PutItemCommand: 1, UpdateItemCommand: 1 });
    const newCookie = person.cookie(sessionCookieName)!;
    expect(newCookie).not.toBe(oldCookie);
    expect((await first.dynamodb.send(new GetItemCommand({ TableName: local.sessionTable, Key: key }))).Item).toBeUndefined();
    expect((await request(first.app).get(whoAmIPath).set('Cookie', `${sessionCookieName}=${oldCookie}`)).body.user).toBeNull();
    const renewedKey = { id: { S: `sess:${decodeURIComponent(newCookie).slice(2, decodeURIComponent(newCookie).lastIndexOf('.'))}` } };
    const renewed = JSON.parse(
      (await first.dynamodb.send(new GetItemCommand({ TableName: local.sessionTable, Key: renewedKey }))).Item!.sess!.S!,
    );
    expect(new Date(renewed.cookie.expires).getTime()).toBeGreaterThan(Date.now() + sessionMaxAgeMs * 0.9);
    expect(renewed.loggedInAt).toBe(session.loggedInAt);

    counter.reset();
    await person.get('/pages');
    expect(counter.writes()).toBe(0);
  });

  test('when the next request lands on another instance, then the user is still logged in there', async () => {
    const person = visitor(first.app);
    const { username } = await person.signUp();
    const there = await person.switchTo(second.app).get('/wiki/Home');
    expect(there.headers[servedByHeader.toLowerCase()]).toBe('i-second/test-1a');
    expect(there.text).toContain(`<span class="who">${username}</span>`);
  });

  test('when a user logs out on one instance, then the session is gone on every instance', async () => {
    const person = visitor(first.app);
    await person.signUp();
    const cookie = person.cookie(sessionCookieName)!;
    const home = await person.get('/wiki/Home');
    await person.post('/logout', { [csrfField]: csrfTokenIn(home.text) });
    const replayed = await request(second.app).get('/wiki/Home').set('Cookie', `${sessionCookieName}=${cookie}`);
    expect(replayed.text).not.toContain('class="who"');
  });
});

describe('the session cache window (SESSION_CACHE_MS, at most 2 s)', () => {
  const clock = testClock();
  let first: TestApp;
  let second: TestApp;
  beforeAll(() => {
    first = buildTestApp({ instanceId: 'i-first', sessionCacheMs: 2000, now: clock.now });
    second = buildTestApp({ instanceId: 'i-second', sessionCacheMs: 2000, now: clock.now });
  });
  afterAll(async () => {
    await first.close();
    await second.close();
  });

  test('when a user logs out, then the instance that logged them out refuses the session at once, and every other instance after the window', async () => {
    const person = visitor(first.app);
    await person.signUp();
    const cookie = `${sessionCookieName}=${person.cookie(sessionCookieName)!}`;
    // The other instance has read (and so cached) the session.
    expect((await request(second.app).get('/wiki/Home').set('Cookie', cookie)).text).toContain('class="who"');
    const home = await person.get('/wiki/Home');
    expect((await person.post('/logout', { [csrfField]: csrfTokenIn(home.text) })).status).toBe(303);

    expect((await request(first.app).get('/wiki/Home').set('Cookie', cookie)).text).not.toContain('class="who"');
    clock.advance(2_001);
    expect((await request(second.app).get('/wiki/Home').set('Cookie', cookie)).text).not.toContain('class="who"');
  });
});

describe('state-changing requests and the session cache', () => {
  let first: TestApp;
  let second: TestApp;
  beforeAll(() => {
    first = buildTestApp({ instanceId: 'i-first', sessionCacheMs: 2000 });
    second = buildTestApp({ instanceId: 'i-second', sessionCacheMs: 2000 });
  });
  afterAll(async () => {
    await first.close();
    await second.close();
  });

  test('when a user logs out on one instance, then another instance that cached the session refuses a save with it at once', async () => {
    const person = visitor(first.app);
    await person.signUp();
    const slug = uniqueName('Cached_Save');
    expect((await person.putJson(`/api/pages/${slug}`, { body: 'before the log-out', baseRevision: null })).status).toBe(201);
    const cookie = `${sessionCookieName}=${person.cookie(sessionCookieName)!}`;
    // The other instance has read, and so cached, the session.
    expect((await request(second.app).get(whoAmIPath).set('Cookie', cookie)).body.user).not.toBeNull();
    const home = await person.get('/wiki/Home');
    expect((await person.post('/logout', { [csrfField]: csrfTokenIn(home.text) })).status).toBe(303);

    const save = await request(second.app)
      .put(`/api/pages/${slug}`)
      .set('Cookie', cookie)
      .send({ body: 'after the log-out', baseRevision: 1 });
    expect(save.status).toBe(401);
    const { body } = await request(second.app).get(`/api/pages/${slug}`).expect(200);
    expect(body).toMatchObject({ body: 'before the log-out', revision: 1 });
  });
});

describe('sessions in memory (the stateful "before" picture)', () => {
  test('when the next request lands on another instance, then the user is logged out there', async () => {
    const first = buildTestApp({ instanceId: 'i-first', sessionStore: 'memory' });
    const second = buildTestApp({ instanceId: 'i-second', sessionStore: 'memory' });
    try {
      const person = visitor(first.app);
      const { username } = await person.signUp();
      expect((await person.get('/wiki/Home')).text).toContain(`<span class="who">${username}</span>`);
      const there = await person.switchTo(second.app).get('/wiki/Home');
      expect(there.headers[servedByHeader.toLowerCase()]).toBe('i-second/test-1a');
      expect(there.text).not.toContain('class="who"');
      expect(there.text).toContain('href="/login"');
    } finally {
      await first.close();
      await second.close();
    }
  });
});

describe('when the session store is down', () => {
  test('then a logged-in request gets a clear 503, and anonymous readers are unaffected', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const wiki = buildTestApp({ dynamodbEndpoint: `http://127.0.0.1:${port}` });
    try {
      const cookie = `${sessionCookieName}=${encodeURIComponent(`s:${sign('some-session-id', testSecret)}`)}`;
      const loggedIn = await request(wiki.app).get('/pages').set('Cookie', cookie);
      expect(loggedIn.status).toBe(503);
      expect(loggedIn.text).toContain('session store is unavailable');
      expect((await request(wiki.app).get('/pages')).status).toBe(200);
    } finally {
      await wiki.close();
    }
  });

  test('then a page view tries the store once (the client makes two attempts), not again through express-session', async () => {
    let connections = 0;
    const dropping = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve));
    const wiki = buildTestApp({ dynamodbEndpoint: `http://127.0.0.1:${(dropping.address() as AddressInfo).port}` });
    try {
      // The deep health rounds read the table too, in the background: stop them, and count from
      // after the last one.
      wiki.deepHealth.stop();
      await wiki.deepHealth.refresh();
      connections = 0;
      const cookie = `${sessionCookieName}=${encodeURIComponent(`s:${sign('some-session-id', testSecret)}`)}`;
      expect((await request(wiki.app).get('/pages').set('Cookie', cookie)).status).toBe(503);
      expect(connections).toBe(2);
    } finally {
      await wiki.close();
      await new Promise((resolve) => dropping.close(resolve));
    }
  });
});

describe('page views read the session without change tracking', () => {
  let wiki: TestApp;
  beforeAll(() => {
    wiki = buildTestApp({ instanceId: 'i-reads' });
  });
  afterAll(() => wiki.close());

  const sessionIdOf = (signedCookie: string) => {
    const signed = decodeURIComponent(signedCookie);
    return signed.slice(2, signed.lastIndexOf('.'));
  };

  test('when a logged-in user views pages, then every view knows them, sets no cookie and keeps one stable form token', async () => {
    const person = visitor(wiki.app);
    const { username } = await person.signUp();
    const tokens = new Set<string>();
    for (const path of ['/wiki/Home', '/pages', '/wiki/Home']) {
      const view = await person.get(path);
      expect(view.text).toContain(`<span class="who">${username}</span>`);
      expect(view.headers['set-cookie']).toBeUndefined();
      tokens.add(csrfTokenIn(view.text));
    }
    expect(tokens.size).toBe(1);
  });

  test('when a session cookie is signed with another secret, then the reader is anonymous, even after the real cookie was seen', async () => {
    const person = visitor(wiki.app);
    await person.signUp();
    const real = person.cookie(sessionCookieName)!;
    expect((await request(wiki.app).get('/pages').set('Cookie', `${sessionCookieName}=${real}`)).text).toContain('class="who"');

    const forged = encodeURIComponent(`s:${sign(sessionIdOf(real), 'not-the-secret-of-this-wiki-at-all-0123456789')}`);
    const view = await request(wiki.app).get('/pages').set('Cookie', `${sessionCookieName}=${forged}`);
    expect(view.status).toBe(200);
    expect(view.text).not.toContain('class="who"');
    const unsigned = await request(wiki.app)
      .get('/pages')
      .set('Cookie', `${sessionCookieName}=${sessionIdOf(real)}`);
    expect(unsigned.text).not.toContain('class="who"');
  });

  test('when a user logs in again, then page views with the old cookie are anonymous and the new one is known', async () => {
    const person = visitor(wiki.app);
    const { username, password } = await person.signUp();
    const before = person.cookie(sessionCookieName)!;
    await person.get('/wiki/Home');
    expect((await person.submit('/login', '/login', { username, password })).status).toBe(303);
    const after = person.cookie(sessionCookieName)!;
    expect(after).not.toBe(before);
    expect((await request(wiki.app).get('/wiki/Home').set('Cookie', `${sessionCookieName}=${before}`)).text).not.toContain('class="who"');
    expect((await person.get('/wiki/Home')).text).toContain(`<span class="who">${username}</span>`);
  });
});

describe('a read that tries to change the session', () => {
  test('then it fails loudly instead of losing the change', async () => {
    const app = express();
    app.use(cookieParser());
    app.use(createSessions({ kind: 'memory', secret: testSecret, logger: createLogger('silent') }).middleware);
    app.post('/in', (req, res) => {
      req.session.userId = '1';
      req.session.username = 'reader';
      res.end();
    });
    app.get('/rename', (req, res) => {
      req.session.username = 'renamed';
      res.send(req.session.username);
    });
    app.get('/who', (req, res) => res.send(req.session?.username ?? 'anonymous'));
    app.use(((error, _req, res, _next) => res.status(500).send(String(error))) as express.ErrorRequestHandler);

    const cookie = (await request(app).post('/in')).headers['set-cookie']![0]!.split(';')[0]!;
    expect((await request(app).get('/who').set('Cookie', cookie)).text).toBe('reader');
    const renaming = await request(app).get('/rename').set('Cookie', cookie);
    expect(renaming.status).toBe(500);
    expect(renaming.text).toContain("Cannot assign to read only property 'username'");
    expect((await request(app).get('/who').set('Cookie', cookie)).text).toBe('reader');
  });
});
