import pino from 'pino';
import { createDatabase, type Database } from '../../app/db/db';
import { createPageRepository, type PageRepository } from '../../app/pages/repository';
import { createPageViews, type PageView } from '../../app/pages/page-views';
import type { SharedRendering } from '../../app/http/render';
import { env } from '../support/app';
import { uniqueName } from '../support/browser-like';

// Whole pages kept with the page rows are memory outside the JavaScript heap: they count toward
// a byte bound, least recently used out first, and a kept page is made once per row.

let db: Database;
let pages: PageRepository;
beforeAll(() => {
  db = createDatabase({ writerUrl: env('TEST_DATABASE_URL'), logger: pino({ level: 'silent' }), poolSize: 2 });
  pages = createPageRepository(db);
});
afterAll(() => db.close());

async function createPages(count: number): Promise<string[]> {
  const slugs = Array.from({ length: count }, () => uniqueName('Kept'));
  for (const slug of slugs)
    await pages.saveRevision({ slug, title: slug, body: `About ${slug}.`, summary: '', baseRevision: null, authorId: null });
  return slugs;
}

const pageOfBytes = (bytes: number): SharedRendering => ({ body: Buffer.alloc(bytes, 'x'), etag: undefined });

describe('pages kept with their rows', () => {
  test('when the same row is viewed again, then its kept page is reused rather than made again', async () => {
    const [slug] = await createPages(1);
    const views = createPageViews(pages, { rowTtlMs: 60_000 });
    const make = jest.fn(async () => pageOfBytes(100));
    const first = await views.keep((await views.current(slug!))!, 'anonymous', make);
    const again = await views.keep((await views.current(slug!))!, 'anonymous', make);
    expect(again).toBe(first);
    expect(make).toHaveBeenCalledTimes(1);
  });

  test('when kept pages pass the byte bound, then the least recently viewed go first and are made again when asked for', async () => {
    const slugs = await createPages(4);
    // Room for two 40 KB pages with their rows, not three.
    const views = createPageViews(pages, { rowTtlMs: 60_000, maxKeptPageBytes: 90_000 });
    const made: string[] = [];
    const keepPage = async (slug: string): Promise<PageView> => {
      const view = (await views.current(slug))!;
      await views.keep(view, 'anonymous', async () => {
        made.push(slug);
        return pageOfBytes(40_000);
      });
      return view;
    };
    for (const slug of slugs) await keepPage(slug);
    expect(made).toEqual(slugs);

    // The last two are still kept; the first two were pushed out and are made again.
    made.length = 0;
    await keepPage(slugs[3]!);
    await keepPage(slugs[2]!);
    expect(made).toEqual([]);
    await keepPage(slugs[0]!);
    expect(made).toEqual([slugs[0]]);
  });

  test('when a page is saved, then the next view gets a page made from the new row', async () => {
    const [slug] = await createPages(1);
    const views = createPageViews(pages, { rowTtlMs: 60_000 });
    const kept = await views.keep((await views.current(slug!))!, 'anonymous', async () => pageOfBytes(10));
    await pages.saveRevision({ slug: slug!, title: slug!, body: 'Changed.', summary: '', baseRevision: 1, authorId: null });
    const view = (await views.current(slug!))!;
    expect(view.page.revision).toBe(2);
    expect(await views.keep(view, 'anonymous', async () => pageOfBytes(20))).not.toBe(kept);
  });
});
