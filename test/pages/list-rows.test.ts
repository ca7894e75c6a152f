import express from 'express';
import type nunjucks from 'nunjucks';
import type { PageListItem, RecentChange } from '../../app/pages/repository';
import { createListRows } from '../../app/pages/list-rows';
import { configureViews, viewEnvironmentSetting } from '../../app/http/render';

function appWithViews() {
  const app = express();
  configureViews(app, { url: (name) => `/static/${name}` });
  const templateRuns = jest.spyOn(app.get(viewEnvironmentSetting) as nunjucks.Environment, 'render');
  return { app, templateRuns };
}

const page = (fields: Partial<PageListItem> = {}): PageListItem => ({
  slug: 'Load_Balancers',
  title: 'Load Balancers',
  revision: 3,
  updatedAt: new Date('2026-11-30T09:15:00Z'),
  ...fields,
});

const change = (fields: Partial<RecentChange> = {}): RecentChange => ({
  slug: 'Load_Balancers',
  title: 'Load Balancers',
  revision: 3,
  summary: 'health checks',
  author: 'ada',
  createdAt: new Date('2026-11-30T09:15:00Z'),
  ...fields,
});

describe('rows of the lists', () => {
  test('when slices hold rows seen before, then those rows are not rendered again, and the HTML is the same', () => {
    const { app, templateRuns } = appWithViews();
    const rows = createListRows();
    const first = rows.pages(app, [page(), page({ slug: 'Home', title: 'Home', revision: 1 })]);
    expect(templateRuns).toHaveBeenCalledTimes(2);

    const second = rows.pages(app, [page({ slug: 'Home', title: 'Home', revision: 1 }), page({ slug: 'Zones', title: 'Zones' })]);
    expect(templateRuns).toHaveBeenCalledTimes(3);
    expect(second[0]).toBe(first[1]);
    expect(first[0]).toContain('<a href="/wiki/Load_Balancers">Load Balancers</a>');
    expect(first[0]).toContain('2026-11-30 09:15 UTC');
  });

  test('when any field a row shows changes, then the row shows the new value', () => {
    const { app } = appWithViews();
    const rows = createListRows();
    rows.pages(app, [page()]);
    rows.recent(app, [change()]);

    expect(rows.pages(app, [page({ revision: 4, updatedAt: new Date('2026-12-01T08:00:00Z') })])[0]).toContain('2026-12-01 08:00 UTC');
    expect(rows.pages(app, [page({ title: 'Load balancers (ALB)' })])[0]).toContain('Load balancers (ALB)');
    expect(rows.recent(app, [change({ summary: 'idle timeout' })])[0]).toContain(': idle timeout');
    expect(rows.recent(app, [change({ author: null })])[0]).not.toContain(' by ');
    expect(rows.recent(app, [change({ revision: 4 })])[0]).toContain('/wiki/Load_Balancers/rev/4');
    // A page row and a change row of the same revision are different rows.
    expect(rows.pages(app, [page()])[0]).not.toContain('/rev/');
  });

  test('when a row holds markup, then it is escaped, kept or not', () => {
    const { app } = appWithViews();
    const rows = createListRows();
    const hostile = change({ title: '<img src=x onerror=alert(1)>', summary: '"><script>alert(2)</script>' });
    for (const html of [rows.recent(app, [hostile])[0], rows.recent(app, [hostile])[0]]) {
      expect(html).not.toContain('<script>');
      expect(html).not.toContain('<img');
      expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    }
  });

  test('when search rows carry snippets, then each is rendered for its query, with the snippet as the marked-up HTML it is', () => {
    const { app, templateRuns } = appWithViews();
    const rows = createListRows();
    const hit = { slug: 'Home', title: 'Home', snippet: 'the <mark>wiki</mark> &amp; more' };
    expect(rows.search(app, [hit])[0]).toContain('<p class="snippet">the <mark>wiki</mark> &amp; more</p>');
    expect(rows.search(app, [{ ...hit, snippet: 'a <mark>page</mark>' }])[0]).toContain('a <mark>page</mark>');
    expect(templateRuns).toHaveBeenCalledTimes(2);
  });

  test('when rows outgrow the bytes kept, then the least recently used are rendered again', () => {
    const { app, templateRuns } = appWithViews();
    const rows = createListRows({ maxBytes: 2_000 });
    const many = Array.from({ length: 20 }, (_, n) => page({ slug: `P${n}`, title: `P${n}` }));
    rows.pages(app, many);
    rows.pages(app, many.slice(0, 1));
    expect(templateRuns).toHaveBeenCalledTimes(21);
  });
});
