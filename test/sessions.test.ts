import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { sessionMaxAgeMs } from '../app/sessions';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { sign } from 'cookie-signature';
import request from 'supertest';
import { buildTestApp, type TestApp } from './support/app';
import { local } from '../app/contracts';
import { testSecret } from './support/names';
import { visitor } from './support/browser-like';

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

  test('when a session is past half its lifetime, then one request renews it with one write, and the next costs none', async () => {
    const person = visitor(first.app);
    await person.signUp();
    // Age the stored session: as if the user logged in five and a half days ago.
    const signed = decodeURIComponent(person.jar.get('cloudwiki.sid')!);
    const key = { id: { S: `sess:${signed.slice(2, signed.lastIndexOf('.'))}` } };
    const stored = await first.dynamodb.send(new GetItemCommand({ TableName: local.sessionTable, Key: key }));
    const session = JSON.parse(stored.Item!.sess!.S!);
    session.cookie.expires = new Date(Date.now() + sessionMaxAgeMs / 4).toISOString();
    await first.dynamodb.send(
      new PutItemCommand({ TableName: local.sessionTable, Item: { ...stored.Item!, sess: { S: JSON.stringify(session) } } }),
    );

    const counter = countCommands(first.dynamodb);
    const renewing = await person.get('/pages');
    expect(counter.writes()).toBe(1);
    const setCookies = renewing.headers['set-cookie'] as unknown as string[];
    expect(setCookies.some((cookie) => cookie.startsWith('cloudwiki.sid='))).toBe(true);
    const renewed = JSON.parse((await first.dynamodb.send(new GetItemCommand({ TableName: local.sessionTable, Key: key }))).Item!.sess!.S!);
    expect(new Date(renewed.cookie.expires).getTime()).toBeGreaterThan(Date.now() + sessionMaxAgeMs * 0.9);

    counter.reset();
    await person.get('/pages');
    expect(counter.writes()).toBe(0);
  });

  test('when the next request lands on another instance, then the user is still logged in there', async () => {
    const person = visitor(first.app);
    const { username } = await person.signUp();
    const there = await person.switchTo(second.app).get('/wiki/Home');
    expect(there.headers['x-served-by']).toBe('i-second/test-1a');
    expect(there.text).toContain(`<span class="who">${username}</span>`);
  });

  test('when a user logs out on one instance, then the session is gone on every instance', async () => {
    const person = visitor(first.app);
    await person.signUp();
    const cookie = person.jar.get('cloudwiki.sid')!;
    const home = await person.get('/wiki/Home');
    await person.post('/logout', { _csrf: /name="_csrf" value="([^"]+)"/.exec(home.text)![1]! });
    const replayed = await request(second.app).get('/wiki/Home').set('Cookie', `cloudwiki.sid=${cookie}`);
    expect(replayed.text).not.toContain('class="who"');
  });
});

describe('the session cache window (SESSION_CACHE_MS, at most 2 s)', () => {
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

  test('when a user logs out, then the instance that logged them out refuses the session at once, and every other instance after the window', async () => {
    const person = visitor(first.app);
    await person.signUp();
    const cookie = `cloudwiki.sid=${person.jar.get('cloudwiki.sid')!}`;
    // The other instance has read (and so cached) the session.
    expect((await request(second.app).get('/wiki/Home').set('Cookie', cookie)).text).toContain('class="who"');
    const home = await person.get('/wiki/Home');
    expect((await person.post('/logout', { _csrf: /name="_csrf" value="([^"]+)"/.exec(home.text)![1]! })).status).toBe(303);

    expect((await request(first.app).get('/wiki/Home').set('Cookie', cookie)).text).not.toContain('class="who"');
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect((await request(second.app).get('/wiki/Home').set('Cookie', cookie)).text).not.toContain('class="who"');
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
      expect(there.headers['x-served-by']).toBe('i-second/test-1a');
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
      const cookie = `cloudwiki.sid=${encodeURIComponent(`s:${sign('some-session-id', testSecret)}`)}`;
      const loggedIn = await request(wiki.app).get('/pages').set('Cookie', cookie);
      expect(loggedIn.status).toBe(503);
      expect(loggedIn.text).toContain('session store is unavailable');
      expect((await request(wiki.app).get('/pages')).status).toBe(200);
    } finally {
      await wiki.close();
    }
  });
});
