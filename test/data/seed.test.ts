import request from 'supertest';
import { createPageRepository } from '../../app/data/pages';
import { seedHomePage } from '../../app/data/seed';
import { buildTestApp } from '../support/app';

test('when several instances seed at once, then there is one Home page explaining the demo', async () => {
  const wiki = buildTestApp();
  try {
    const pages = createPageRepository(wiki.db);
    await Promise.all([seedHomePage(pages), seedHomePage(pages), seedHomePage(pages)]);
    const home = await request(wiki.app).get('/wiki/Home');
    expect(home.status).toBe(200);
    expect(home.text).toContain('highly available');
    const { rows } = await wiki.db.query<{ count: string }>(
      `SELECT count(*) FROM revisions r JOIN pages p ON p.id = r.page_id WHERE p.slug = 'Home'`,
    );
    expect(Number(rows[0]!.count)).toBe(1);
    expect((await pages.findBySlug('Home'))!.revision).toBe(1);
  } finally {
    await wiki.close();
  }
});
