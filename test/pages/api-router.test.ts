import request from 'supertest';
import { whoAmIPath } from '../../app/contracts';
import { buildTestApp, type TestApp } from '../support/app';
import { insertPages } from '../support/bulk-pages';
import { uniqueName, visitor } from '../support/browser-like';

let wiki: TestApp;
beforeAll(() => {
  wiki = buildTestApp();
});
afterAll(() => wiki.close());

test('when a logged-in script creates, reads, lists and updates a page, then the API answers with revisions', async () => {
  const bot = visitor(wiki.app);
  await bot.signUp();
  const slug = uniqueName('Api');
  const created = await bot.putJson(`/api/pages/${slug}`, { body: 'v1', summary: 'created by a script', baseRevision: null });
  expect(created.status).toBe(201);
  expect(created.body).toEqual({ slug, revision: 1 });

  const updated = await bot.putJson(`/api/pages/${slug}`, { body: 'v2', baseRevision: 1 });
  expect(updated.status).toBe(200);
  expect(updated.body.revision).toBe(2);

  const fetched = await request(wiki.app).get(`/api/pages/${slug}`);
  expect(fetched.body).toMatchObject({ slug, title: slug.replace(/_/g, ' '), body: 'v2', revision: 2 });

  const listed = await request(wiki.app).get('/api/pages');
  expect(listed.body.pages).toEqual(expect.arrayContaining([expect.objectContaining({ slug, revision: 2 })]));
});

test('when a script lists the pages of a large wiki, then it gets them a slice at a time, each once, and a bad "after" is a 400', async () => {
  const prefix = uniqueName('Listed');
  const slugs = await insertPages(wiki.db, prefix, 130);

  const seen: string[] = [];
  let slices = 0;
  for (let after: string | null = ''; after !== null; slices += 1) {
    const response = await request(wiki.app)
      .get('/api/pages')
      .query(after ? { after } : {});
    expect(response.status).toBe(200);
    expect(response.body.pages.length).toBeLessThanOrEqual(100);
    seen.push(...response.body.pages.map((page: { slug: string }) => page.slug));
    after = response.body.next;
  }
  expect(slices).toBeGreaterThan(1);
  expect(new Set(seen).size).toBe(seen.length);
  expect(seen.filter((slug) => slug.startsWith(prefix))).toEqual(slugs);

  const refused = await request(wiki.app).get('/api/pages?after=../etc');
  expect(refused.status).toBe(400);
  expect(refused.body.error).toMatch(/after/);
});

test('when a script saves on a stale revision, then it gets 409 with the current revision', async () => {
  const bot = visitor(wiki.app);
  await bot.signUp();
  const slug = uniqueName('ApiConflict');
  await bot.putJson(`/api/pages/${slug}`, { body: 'v1', baseRevision: null });
  await bot.putJson(`/api/pages/${slug}`, { body: 'v2', baseRevision: 1 });
  const stale = await bot.putJson(`/api/pages/${slug}`, { body: 'lost?', baseRevision: 1 });
  expect(stale.status).toBe(409);
  expect(stale.body.currentRevision).toBe(2);
  const again = await bot.putJson(`/api/pages/${slug}`, { body: 'v3', baseRevision: null });
  expect(again.status).toBe(409);
  expect((await request(wiki.app).get(`/api/pages/${slug}`)).body.body).toBe('v2');
});

test('when the caller is anonymous, sends no JSON, or sends bad JSON, then it gets 401, 415 or 400', async () => {
  const slug = uniqueName('ApiBad');
  const anonymous = await request(wiki.app).put(`/api/pages/${slug}`).send({ body: 'x', baseRevision: null });
  expect(anonymous.status).toBe(401);
  expect(anonymous.body.error).toMatch(/Log in/);

  const bot = visitor(wiki.app);
  await bot.signUp();
  const cookie = bot.cookieHeader();
  const form = await request(wiki.app).put(`/api/pages/${slug}`).set('Cookie', cookie).type('form').send({ body: 'x' });
  expect(form.status).toBe(415);
  const broken = await request(wiki.app)
    .put(`/api/pages/${slug}`)
    .set('Cookie', cookie)
    .set('Content-Type', 'application/json')
    .send('{"body": ');
  expect(broken.status).toBe(400);
  expect(broken.body.error).toBeDefined();
  const wrongTypes = await bot.putJson(`/api/pages/${slug}`, { body: 42, baseRevision: 'one' });
  expect(wrongTypes.status).toBe(400);
  expect(wrongTypes.body.error).toMatch(/body/);
  expect(wrongTypes.body.error).toMatch(/baseRevision/);
  expect((await request(wiki.app).get(`/api/pages/${slug}`)).status).toBe(404);
});

test('when a tool asks who it is, then it gets its username while logged in and null after logging out', async () => {
  const person = visitor(wiki.app);
  expect((await person.get(whoAmIPath)).body).toEqual({ user: null });
  const { username } = await person.signUp();
  const me = await person.get(whoAmIPath);
  expect(me.status).toBe(200);
  expect(me.body).toEqual({ user: { username } });
  expect((await person.submit('/wiki/Home', '/logout', {})).status).toBe(303);
  expect((await person.get(whoAmIPath)).body).toEqual({ user: null });
});

test('when a base revision is beyond what the database can hold, then the API answers 400, not 500', async () => {
  const bot = visitor(wiki.app);
  await bot.signUp();
  const saved = await bot.putJson(`/api/pages/${uniqueName('ApiHuge')}`, { body: 'x', baseRevision: 2147483648 });
  expect(saved.status).toBe(400);
  expect(saved.body.error).toContain('baseRevision');
});
