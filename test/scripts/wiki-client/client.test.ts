import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { servedBy, WikiClient } from '../../../scripts/wiki-client/client';
import { buildTestApp, type TestApp } from '../../support/app';
import { uniqueName } from '../../support/browser-like';

// The tools' one client against the real app on a loopback port: every call a tool makes.

let wiki: TestApp;
let server: Server;
let url: string;
beforeAll(async () => {
  wiki = buildTestApp({ instanceId: 'i-client' });
  server = wiki.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await wiki.close();
});

describe('WikiClient', () => {
  test('when it signs up, then the wiki says who it is, and a second client with no cookies is nobody', async () => {
    const username = uniqueName('client').slice(0, 32);
    const client = new WikiClient(url);
    await client.logIn('signup', username, 'correct horse battery staple');
    expect(await client.whoAmI()).toEqual({ user: { username } });
    expect(await new WikiClient(url).whoAmI()).toEqual({ user: null });
  });

  test('when it logs in with a wrong password, then it throws saying what the wiki answered', async () => {
    await expect(new WikiClient(url).logIn('login', 'nobody-such', 'wrong password here')).rejects.toThrow(
      /POST \/login as nobody-such answered 401/,
    );
  });

  test('when it saves, reads and lists a page, then it gets the typed answers, and a stale save is a conflict', async () => {
    const client = new WikiClient(url);
    await client.logIn('signup', uniqueName('saver').slice(0, 32), 'correct horse battery staple');
    const slug = uniqueName('Client');
    expect(await client.savePage(slug, { body: 'one', baseRevision: null })).toEqual({ status: 201, saved: { slug, revision: 1 } });
    expect(await client.savePage(slug, { body: 'two', baseRevision: 1 })).toEqual({ status: 200, saved: { slug, revision: 2 } });
    expect(await client.savePage(slug, { body: 'late', baseRevision: 1 })).toMatchObject({ status: 409, conflict: { currentRevision: 2 } });
    expect(await client.getPage(slug)).toMatchObject({ slug, body: 'two', revision: 2 });
    expect(await client.getPage(uniqueName('Missing'))).toBeNull();
    const slugs: string[] = [];
    for await (const page of client.allPages()) slugs.push(page.slug);
    expect(slugs).toContain(slug);
  });

  test('when a save comes without a session, then the outcome carries the wiki’s words', async () => {
    const outcome = await new WikiClient(url).savePage(uniqueName('Anon'), { body: 'x', baseRevision: null });
    expect(outcome).toMatchObject({ status: 401, error: expect.stringMatching(/Log in first/) });
  });

  test('servedBy reads the instance and zone from any response', async () => {
    const response = await new WikiClient(url).request('/wiki/Home');
    expect(servedBy(response)).toEqual({ instance: 'i-client', az: 'test-1a' });
    expect(servedBy(new Response(null, { headers: { 'x-served-by': 'i-1/lab-a/w2' } }))).toEqual({
      instance: 'i-1',
      az: 'lab-a',
      worker: 2,
    });
    expect(servedBy(new Response(null))).toBeNull();
  });
});
