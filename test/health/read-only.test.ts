import request from 'supertest';
import { buildTestApp, env, type TestApp } from '../support/app';
import { uniqueName, visitor } from '../support/browser-like';
import { csrfField, deepHealthPath } from '../../app/contracts';

// The failover matrix of docs/architecture.md ("What fails the domain over"), row by row, on the
// app as compose.ts builds it: the reader is the test run's database, and a dependency that is
// down is an address where nothing listens (port 9: every connection refused at once).
const nowhere = 'postgres://cloudwiki@127.0.0.1:9/cloudwiki';

let healthy: TestApp;
let writerDown: TestApp;
let databaseDown: TestApp;
let account: { username: string; password: string };
let slug: string;

beforeAll(async () => {
  healthy = buildTestApp();
  writerDown = buildTestApp({ databaseUrl: nowhere, readerUrl: env('TEST_DATABASE_URL') });
  databaseDown = buildTestApp({ databaseUrl: nowhere, readerUrl: nowhere });
  const author = visitor(healthy.app);
  account = await author.signUp();
  slug = uniqueName('ReadOnly');
  expect((await author.putJson(`/api/pages/${slug}`, { body: 'written before the writer went away', baseRevision: null })).status).toBe(
    201,
  );
  await Promise.all([writerDown.deepHealth.refresh(), databaseDown.deepHealth.refresh()]);
});
afterAll(() => Promise.all([healthy, writerDown, databaseDown].map((wiki) => wiki?.close())));

describe('when the writer is down and the reader answers, then the site stays up read-only', () => {
  test('/health/deep answers 200 "degraded", so Route 53 keeps the domain on the live site', async () => {
    const deep = await request(writerDown.app).get(deepHealthPath);
    expect(deep.status).toBe(200);
    expect(deep.body).toMatchObject({ status: 'degraded', checks: { writer: { status: 'degraded' }, reader: { status: 'ok' } } });
  });

  test('anonymous readers see pages, the page list and search', async () => {
    const page = await request(writerDown.app).get(`/wiki/${slug}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('written before the writer went away');
    expect((await request(writerDown.app).get('/pages')).status).toBe(200);
    expect((await request(writerDown.app).get('/search?q=writer')).status).toBe(200);
    expect((await request(writerDown.app).get(`/api/pages/${slug}`)).body.body).toBe('written before the writer went away');
  });

  test('people can log in, and read a page even right after their own save (the read-your-writes hint)', async () => {
    const reader = visitor(writerDown.app);
    const loggedIn = await reader.submit('/login', '/login', account);
    expect(loggedIn.status).toBe(303);
    reader.plant('cloudwiki.rw', '1');
    const page = await reader.get(`/wiki/${slug}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain(account.username);
  });

  test('a save is refused with 503 and the person’s text handed back; the API says so in JSON', async () => {
    const editor = visitor(writerDown.app);
    await editor.submit('/login', '/login', account);
    const draft = `my unsaved words ${uniqueName('draft')}`;
    const saved = await editor.post(`/wiki/${slug}`, { ...(await formFields(editor, slug)), body: draft, summary: 'offline' });
    expect(saved.status).toBe(503);
    expect(saved.text).toContain(draft);
    const api = await editor.putJson(`/api/pages/${slug}`, { body: draft, baseRevision: 1 });
    expect(api.status).toBe(503);
    expect(api.body.error).toMatch(/unavailable/i);
    expect((await request(healthy.app).get(`/api/pages/${slug}`)).body.body).toBe('written before the writer went away');
  });
});

describe('when the writer and the reader are both down, then page views are impossible', () => {
  test('/health/deep answers 503 "fail", so Route 53 moves the domain to the backup, and responses close their connections', async () => {
    const deep = await request(databaseDown.app).get(deepHealthPath).set('Connection', 'keep-alive');
    expect(deep.status).toBe(503);
    expect(deep.body).toMatchObject({ status: 'fail', checks: { writer: { status: 'fail' }, reader: { status: 'fail' } } });
    expect(deep.headers.connection).toBe('close');
    expect((await request(databaseDown.app).get(`/wiki/${uniqueName('Never')}`)).status).toBe(503);
  });
});

/** The edit form's hidden fields (CSRF token, base revision), as a browser would post them. */
async function formFields(editor: ReturnType<typeof visitor>, page: string): Promise<Record<string, string>> {
  const form = await editor.get(`/wiki/${page}/edit`);
  expect(form.status).toBe(200);
  const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(form.text)?.[1] ?? '';
  return { [csrfField]: field(csrfField), baseRevision: field('baseRevision') };
}
