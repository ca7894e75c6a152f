import request from 'supertest';
import { parseMarkdown } from '../../app/pages/markdown';
import { createPageRepository } from '../../app/pages/repository';
import { seedPages, startingPages } from '../../app/pages/seed';
import { buildTestApp } from '../support/app';

test('when several instances seed at once, then each starting page exists once, at revision 1', async () => {
  const wiki = buildTestApp();
  try {
    const pages = createPageRepository(wiki.db);
    await Promise.all([seedPages(pages), seedPages(pages), seedPages(pages)]);
    const home = await request(wiki.app).get('/wiki/Home');
    expect(home.status).toBe(200);
    expect(home.text).toContain('highly available');
    for (const { slug } of startingPages) {
      const { rows } = await wiki.db.query<{ count: string }>(
        'SELECT count(*) FROM revisions r JOIN pages p ON p.id = r.page_id WHERE p.slug = $1',
        [slug],
      );
      expect({ slug, revisions: Number(rows[0]!.count) }).toEqual({ slug, revisions: 1 });
    }
  } finally {
    await wiki.close();
  }
});

test('when a newcomer follows any wiki link on the starting pages, then it leads to a starting page', () => {
  const seeded = new Set(startingPages.map((page) => page.slug));
  for (const page of startingPages) {
    for (const linked of parseMarkdown(page.body).linkedSlugs)
      expect({ from: page.slug, to: linked, exists: seeded.has(linked) }).toMatchObject({ exists: true });
  }
});
