import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import request from 'supertest';
import { migrate } from '../../app/db/migrate';
import { createLogger } from '../../app/platform/logger';
import { pageRowTtlMs } from '../../app/pages/page-views';
import { buildTestApp, type TestApp } from '../support/app';
import { testClock } from '../support/clock';
import { csrfTokenIn, uniqueName, visitor } from '../support/browser-like';
import { csrfField } from '../../app/contracts';

// The rendered-page cache and the short row cache are per instance: these tests run two app
// instances on one database, as behind a load balancer, and check what each person sees.

// Every app here reads this clock: a test moves it past the row cache's lifetime instead of
// waiting, and by then every instance must show the latest revision.
const clock = testClock();
const afterRowLifetime = () => clock.advance(pageRowTtlMs + 1);

async function save(person: ReturnType<typeof visitor>, slug: string, body: string) {
  const form = await person.get(`/wiki/${slug}/edit`);
  const baseRevision = /name="baseRevision" value="(\d*)"/.exec(form.text)?.[1] ?? '';
  return person.post(`/wiki/${slug}`, { [csrfField]: csrfTokenIn(form.text), body, summary: '', baseRevision });
}

describe('two instances on one database', () => {
  let first: TestApp;
  let second: TestApp;
  beforeAll(() => {
    first = buildTestApp({ instanceId: 'i-first', now: clock.now });
    second = buildTestApp({ instanceId: 'i-second', now: clock.now });
  });
  afterAll(async () => {
    await first.close();
    await second.close();
  });

  test('when an editor saves, then they see it at once on any instance, and everyone sees it within a second', async () => {
    const author = visitor(first.app);
    await author.signUp();
    const slug = uniqueName('Cached');
    await save(author, slug, 'first text');
    // Both instances and an anonymous reader now hold revision 1 in their caches.
    expect((await request(first.app).get(`/wiki/${slug}`)).text).toContain('first text');
    expect((await request(second.app).get(`/wiki/${slug}`)).text).toContain('first text');

    expect((await save(author, slug, 'second text')).status).toBe(303);
    expect((await author.get(`/wiki/${slug}`)).text).toContain('second text');
    expect((await author.switchTo(second.app).get(`/wiki/${slug}`)).text).toContain('second text');
    // A save on this instance shows at once to everyone here.
    expect((await request(first.app).get(`/wiki/${slug}`)).text).toContain('second text');

    afterRowLifetime();
    const elsewhere = await request(second.app).get(`/wiki/${slug}`);
    expect(elsewhere.text).toContain('second text');
    expect(elsewhere.text).not.toContain('first text');
  });

  test('when anonymous and logged-in readers view the same cached page, then each sees their own header', async () => {
    const author = visitor(first.app);
    const { username } = await author.signUp();
    const slug = uniqueName('Shared');
    await save(author, slug, 'one page for all');
    const anonymousFirst = await request(first.app).get(`/wiki/${slug}`);
    const loggedIn = await author.get(`/wiki/${slug}`);
    const anonymousAgain = await request(first.app).get(`/wiki/${slug}`);
    expect(loggedIn.text).toContain(`<span class="who">${username}</span>`);
    expect(loggedIn.text).toContain(`href="/wiki/${slug}/edit"`);
    for (const page of [anonymousFirst, anonymousAgain]) {
      expect(page.text).toContain('one page for all');
      expect(page.text).not.toContain('class="who"');
      expect(page.text).not.toContain('name="_csrf"');
    }
  });

  test('when two logged-in readers view the same cached page, then each gets their own name and a token that works for them only', async () => {
    const author = visitor(first.app);
    await author.signUp();
    const reader = visitor(first.app);
    const { username: readerName } = await reader.signUp();
    const slug = uniqueName('Readers');
    await save(author, slug, 'one page, two readers');
    const forAuthor = await author.get(`/wiki/${slug}`);
    const forReader = await reader.get(`/wiki/${slug}`);
    expect(forReader.text).toContain('one page, two readers');
    expect(forReader.text).toContain(`<span class="who">${readerName}</span>`);
    expect(forReader.text).not.toContain(forAuthor.text.match(/<span class="who">[^<]*<\/span>/)![0]);
    const readerToken = csrfTokenIn(forReader.text);
    expect(readerToken).not.toBe(csrfTokenIn(forAuthor.text));

    // The author's token is refused in the reader's session; the reader's own is accepted.
    expect((await reader.post('/logout', { [csrfField]: csrfTokenIn(forAuthor.text) })).status).toBe(403);
    expect((await reader.post('/logout', { [csrfField]: readerToken })).status).toBe(303);
    expect((await reader.get(`/wiki/${slug}`)).text).not.toContain('class="who"');

    // A save on this instance shows at once to other logged-in readers here too.
    expect((await save(author, slug, 'saved again')).status).toBe(303);
    const another = visitor(first.app);
    await another.signUp();
    expect((await another.get(`/wiki/${slug}`)).text).toContain('saved again');
    expect((await save(author, slug, 'saved a third time')).status).toBe(303);
    expect((await another.get(`/wiki/${slug}`)).text).toContain('saved a third time');
  });

  test('when an editor reverts, then no instance shows the reverted-away text after a second', async () => {
    const author = visitor(first.app);
    await author.signUp();
    const slug = uniqueName('Reverted');
    await save(author, slug, 'good text');
    await save(author, slug, 'vandalised text');
    expect((await request(second.app).get(`/wiki/${slug}`)).text).toContain('vandalised text');
    expect((await request(first.app).get(`/wiki/${slug}`)).text).toContain('vandalised text');

    const history = await author.get(`/wiki/${slug}/history`);
    expect((await author.post(`/wiki/${slug}/revert/1`, { [csrfField]: csrfTokenIn(history.text) })).status).toBe(303);
    expect((await request(first.app).get(`/wiki/${slug}`)).text).toContain('good text');
    expect((await author.switchTo(second.app).get(`/wiki/${slug}`)).text).toContain('good text');

    afterRowLifetime();
    for (const app of [first.app, second.app]) {
      const page = await request(app).get(`/wiki/${slug}`);
      expect(page.text).toContain('good text');
      expect(page.text).not.toContain('vandalised text');
    }
    // The revision views share the renderings and stay right too.
    expect((await request(second.app).get(`/wiki/${slug}/rev/2`)).text).toContain('vandalised text');
    expect((await request(second.app).get(`/wiki/${slug}/rev/3`)).text).toContain('good text');
  });

  test('when a linked page is created on another instance, then the link stops saying "missing" within a second', async () => {
    const author = visitor(first.app);
    await author.signUp();
    const target = uniqueName('Target');
    const linking = uniqueName('Linking');
    await save(author, linking, `See [[${target}]].`);
    const before = await request(second.app).get(`/wiki/${linking}`);
    expect(before.text).toContain(`href="/wiki/${target}/edit"`);

    await save(author, target, 'now it exists');
    afterRowLifetime();
    const after = await request(second.app).get(`/wiki/${linking}`);
    expect(after.text).toContain(`href="/wiki/${target}"`);
    expect(after.text).not.toContain(`href="/wiki/${target}/edit"`);
  });

  test('when an editor saves, then search shows it at once to them and on this instance, and everywhere within a second', async () => {
    const author = visitor(first.app);
    await author.signUp();
    const word = uniqueName('zebrafinch')
      .toLowerCase()
      .replace(/[^a-z]/g, '');
    const slug = uniqueName('Listed');
    const search = `/search?q=${word}`;
    // Every instance now serves its anonymous readers an empty result for a second.
    for (const app of [first.app, second.app]) expect((await request(app).get(search)).text).toContain('No page matches');

    await save(author, slug, `a page about the ${word}`);
    expect((await author.switchTo(second.app).get(search)).text).toContain(`href="/wiki/${slug}"`);
    // The save dropped this instance's shared renderings at once.
    const here = await request(first.app).get(search);
    expect(here.text).toContain(`href="/wiki/${slug}"`);
    expect(here.headers['set-cookie']).toBeUndefined();

    afterRowLifetime();
    expect((await request(second.app).get(search)).text).toContain(`href="/wiki/${slug}"`);
  });

  test('when an upload is attached, then it is listed with the page', async () => {
    const author = visitor(first.app);
    await author.signUp();
    const slug = uniqueName('Attached');
    await save(author, slug, 'with a file');
    const page = await author.get(`/wiki/${slug}`);
    const upload = await request(first.app)
      .post(`/wiki/${slug}/uploads`)
      .set('Cookie', author.cookieHeader())
      .field(csrfField, csrfTokenIn(page.text))
      .attach('file', Buffer.from('plain words\n'), { filename: 'notes.txt', contentType: 'text/plain' });
    expect(upload.status).toBe(303);
    afterRowLifetime();
    const listed = await request(second.app).get(`/wiki/${slug}`);
    expect(listed.text).toContain('notes.txt');
  });
});

describe('renderings shared by anonymous readers', () => {
  let wiki: TestApp;
  beforeAll(() => {
    wiki = buildTestApp({ instanceId: 'i-etag', now: clock.now });
  });
  afterAll(() => wiki.close());

  test('when a reader already holds a shared page or list, then they get a 304, and after a save the new rendering with its own ETag', async () => {
    const author = visitor(wiki.app);
    await author.signUp();
    const slug = uniqueName('Conditional');
    await save(author, slug, 'the first text');
    const etagOf = wiki.app.get('etag fn') as (body: string, encoding: string) => string;

    for (const url of [`/wiki/${slug}`, `/search?q=${slug}`]) {
      const first = await request(wiki.app).get(url);
      expect(first.status).toBe(200);
      // The ETag sent is the one of the body sent, as if Express had hashed it on this request.
      expect(first.headers.etag).toBe(etagOf(first.text, 'utf8'));
      const again = await request(wiki.app).get(url).set('If-None-Match', first.headers.etag!);
      expect(again.status).toBe(304);
      expect(again.text).toBe('');
    }

    const before = await request(wiki.app).get(`/wiki/${slug}`);
    const beforeList = await request(wiki.app).get(`/search?q=${slug}`);
    expect((await save(author, slug, 'the second text')).status).toBe(303);
    for (const [url, held] of [
      [`/wiki/${slug}`, before],
      [`/search?q=${slug}`, beforeList],
    ] as const) {
      const changed = await request(wiki.app).get(url).set('If-None-Match', held.headers.etag!);
      expect(changed.status).toBe(200);
      expect(changed.text).toContain('second text');
      expect(changed.headers.etag).toBe(etagOf(changed.text, 'utf8'));
      expect(changed.headers.etag).not.toBe(held.headers.etag);
    }
  });
});

describe('when the database is unavailable', () => {
  let database: ChildProcess;
  let wiki: TestApp;

  beforeAll(async () => {
    // A database of its own (PGlite in a child process) that this test can stop.
    database = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '../support/pglite-wire-process.ts')], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const url = await new Promise<string>((resolve) => createInterface({ input: database.stdout! }).once('line', resolve));
    await migrate(url, createLogger('silent'));
    wiki = buildTestApp({ databaseUrl: url, instanceId: 'i-outage', now: clock.now });
  }, 60_000);
  afterAll(async () => {
    await wiki.close();
    if (database.exitCode === null) {
      const exited = new Promise((resolve) => database.once('exit', resolve));
      database.kill('SIGTERM');
      await exited;
    }
  });

  test('then pages this instance rendered are served read-only from the last copy, others answer 503, and saves hand the text back', async () => {
    const author = visitor(wiki.app);
    await author.signUp();
    const slug = uniqueName('Outlasting');
    await save(author, slug, 'text worth keeping');
    expect((await request(wiki.app).get(`/wiki/${slug}`)).status).toBe(200);
    const form = await author.get(`/wiki/${slug}/edit`);
    const exited = new Promise((resolve) => database.once('exit', resolve));
    database.kill('SIGTERM');
    await exited;
    afterRowLifetime();

    const stale = await request(wiki.app).get(`/wiki/${slug}`);
    expect(stale.status).toBe(200);
    expect(stale.text).toContain('text worth keeping');
    expect(stale.text).toContain('Read-only: the database is unavailable');
    expect(stale.headers['cache-control']).toMatch(/stale-if-error=\d+/);

    const logged = await author.get(`/wiki/${slug}`);
    expect(logged.status).toBe(200);
    expect(logged.text).toContain('Read-only: the database is unavailable');
    expect(logged.text).not.toContain(`href="/wiki/${slug}/edit"`);

    const never = await request(wiki.app).get(`/wiki/${uniqueName('NeverSeen')}`);
    expect(never.status).toBe(503);

    const refused = await author.post(`/wiki/${slug}`, {
      _csrf: csrfTokenIn(form.text),
      body: 'my unsaved paragraph',
      summary: '',
      baseRevision: '1',
    });
    expect(refused.status).toBe(503);
    expect(refused.text).toContain('your edit was not saved');
    expect(refused.text).toContain('my unsaved paragraph');
  }, 60_000);
});
