import { LRUCache } from 'lru-cache';
import type { Page, PageRepository, PageViewRow, ReadOptions, ViewUpload } from './repository';
import { parseMarkdown } from './markdown';
import type { RenderingWithHoles, SharedRendering } from '../http/render';

// What a page view costs once it is warm: nothing from the database for a second, then one
// statement that leaves the body out. Two caches, both per instance:
// - renderings: the HTML of each (page, revision). A revision never changes, so its rendering is
//   valid for ever except for the colour of its wiki links (whether the linked pages exist), which
//   is re-checked with every row read. Bounded by bytes, least recently used out first.
// - rows: the last row read for each page. A row younger than rowTtlMs is reused, which is how long
//   a save on another instance can take to show here; anyone who saved recently (the
//   cloudwiki.rw cookie, ReadOptions.fromWriter) skips it, and a save on this instance expires it
//   at once. During a database outage the last row and its rendering are the stale copy.

export interface PageViewsOptions {
  /** Bytes of rendered HTML kept across all pages and revisions. */
  maxRenderedBytes?: number;
  /** How long a page row may be reused before the database is asked again. */
  rowTtlMs?: number;
  /** Bytes of whole pages kept with the rows (PageView['memo']). */
  maxKeptPageBytes?: number;
  /** The clock the row lifetime is measured with (tests move it instead of waiting). */
  now?: () => number;
}

type ViewedPage = Omit<Page, 'body'>;

export interface PageView {
  page: ViewedPage;
  uploads: ViewUpload[];
  html: string;
  /**
   * Lives as long as the row behind this view (at most rowTtlMs unless the database is down): the
   * route keeps whole pages here (PageViews.keep), so repeat views skip the templates too.
   */
  memo: PageMemo;
}

/** The holes in a page rendered for every logged-in reader. */
export type ReaderHole = 'username' | 'csrfToken';

export interface PageMemo {
  /** The page as everyone without a session sees it. */
  anonymous?: SharedRendering;
  /** The page as any logged-in reader sees it, but for their name and token. */
  reader?: RenderingWithHoles<ReaderHole>;
  /** The rendering the kept pages were made from: when the row's rendering changes, they go. */
  renderedFrom?: object;
}
type KeptPage = 'anonymous' | 'reader';

export interface RevisionRendering {
  html: string;
}

interface Rendering {
  html: string;
  linkedSlugs: string[];
  /** The linked slugs that existed when it was rendered, sorted and joined. */
  existingKey: string;
  checkedAt: number;
}

interface RowEntry {
  /** existingKey: the linked pages that existed when the row was read, as Rendering.existingKey. */
  row: { page: ViewedPage; uploads: ViewUpload[]; existingKey: string } | null;
  readAt: number;
  memo: PageView['memo'];
}

const defaultMaxRenderedBytes = 32 * 1024 * 1024;
const defaultMaxKeptPageBytes = 32 * 1024 * 1024;
/** A row without its kept pages, roughly: the title, the uploads and the linked slugs are short. */
const rowBytes = 1_000;
/** How long a page's row is reused: how long another reader may see the previous revision. */
export const pageRowTtlMs = 1_000;
// Rows are small (no body); the count bound keeps a crawler of missing pages from growing it.
const maxRows = 20_000;

const renderingKey = (slug: string, revision: number) => `${revision}:${slug}`;
const existingKeyOf = (slugs: Iterable<string>) => [...slugs].sort().join('\n');

export function createPageViews(pages: PageRepository, options: PageViewsOptions = {}) {
  const now = options.now ?? Date.now;
  const rowTtlMs = options.rowTtlMs ?? pageRowTtlMs;
  const renderings = new LRUCache<string, Rendering>({
    maxSize: options.maxRenderedBytes ?? defaultMaxRenderedBytes,
    // Strings are UTF-16 in V8 (one-byte when they can be); twice the length is the safe bound.
    sizeCalculation: (rendering) => 2 * (rendering.html.length + rendering.existingKey.length) + 100,
  });
  // Whole pages kept with the rows are memory outside the JavaScript heap (Buffers): they count.
  const rows = new LRUCache<string, RowEntry>({
    max: maxRows,
    maxSize: options.maxKeptPageBytes ?? defaultMaxKeptPageBytes,
    sizeCalculation: (entry) => rowBytes + (entry.memo.anonymous?.body.length ?? 0) + (entry.memo.reader?.bytes ?? 0),
  });

  // A save on this instance (the form, a revert, the API) shows at once on this instance.
  pages.onSave((slug) => {
    const entry = rows.peek(slug);
    if (entry) entry.readAt = 0;
  });

  function render(slug: string, revision: number, body: string, existing: Iterable<string>): Rendering {
    const parsed = parseMarkdown(body);
    const existingSet = new Set(existing);
    const rendering: Rendering = {
      html: parsed.render(existingSet),
      linkedSlugs: parsed.linkedSlugs,
      existingKey: existingKeyOf(existingSet),
      checkedAt: now(),
    };
    renderings.set(renderingKey(slug, revision), rendering);
    return rendering;
  }

  function viewOf(entry: RowEntry, rendering: Rendering): PageView | null {
    if (!entry.row) return null;
    const { page, uploads } = entry.row;
    // The memo is only valid for the rendering it was made from.
    if (entry.memo.renderedFrom !== rendering) entry.memo = { renderedFrom: rendering };
    return { page, uploads, html: rendering.html, memo: entry.memo };
  }

  return {
    /** The current revision of a page, rendered; null when there is no such page. */
    async current(slug: string, readOptions: ReadOptions = {}): Promise<PageView | null> {
      const cached = rows.get(slug);
      const known = cached?.row ? renderings.get(renderingKey(slug, cached.row.page.revision)) : undefined;
      if (cached && !readOptions.fromWriter && now() - cached.readAt < rowTtlMs) {
        if (!cached.row) return null;
        if (known && known.existingKey === cached.row.existingKey) return viewOf(cached, known);
      }

      const row: PageViewRow | null = await pages.findForView(
        slug,
        known ? cached!.row!.page.revision : null,
        known?.linkedSlugs ?? [],
        readOptions,
      );
      const readAt = now();
      if (!row) {
        rows.set(slug, { row: null, readAt, memo: {} });
        return null;
      }
      const { body, existing: existingLinked, ...rest } = row;
      let existing = existingLinked;
      let rendering: Rendering;
      if (body === null && known) {
        // Same revision as the rendering: only a linked page appearing or vanishing changes it.
        rendering = known;
        if (known.existingKey !== existingKeyOf(existing)) {
          const revision = await pages.findRevision(slug, row.revision, readOptions);
          rendering = render(slug, row.revision, revision?.body ?? '', existing);
        }
      } else {
        const text = body ?? (await pages.findRevision(slug, row.revision, readOptions))?.body ?? '';
        const linked = parseMarkdown(text).linkedSlugs;
        // The statement checked the links of the revision we knew; a new revision may link elsewhere.
        if (existingKeyOf(linked) !== existingKeyOf(known?.linkedSlugs ?? [])) existing = [...(await pages.existing(linked, readOptions))];
        rendering = render(slug, row.revision, text, existing);
      }
      const { uploads, ...page } = rest;
      // The rendering was made (or checked) with exactly these linked pages: its key is theirs.
      const entry: RowEntry = { row: { page, uploads, existingKey: rendering.existingKey }, readAt, memo: {} };
      rows.set(slug, entry);
      return viewOf(entry, rendering);
    },

    /**
     * A past revision's HTML. Its text never changes, so only its links are re-checked (one small
     * query) when the rendering is older than the row lifetime.
     */
    async revision(slug: string, revision: number, body: string, readOptions: ReadOptions = {}): Promise<RevisionRendering> {
      const known = renderings.get(renderingKey(slug, revision));
      if (known && now() - known.checkedAt < rowTtlMs) return { html: known.html };
      const linked = known?.linkedSlugs ?? parseMarkdown(body).linkedSlugs;
      const existing = await pages.existing(linked, readOptions);
      if (known && known.existingKey === existingKeyOf(existing)) {
        known.checkedAt = now();
        return { html: known.html };
      }
      return { html: render(slug, revision, body, existing).html };
    },

    /**
     * A whole page made from `view` by `make`, kept with its row until the row is read again;
     * later calls with the same view (or one from the same row) get the kept page.
     */
    async keep<Kind extends KeptPage>(
      view: PageView,
      kind: Kind,
      make: () => Promise<NonNullable<PageMemo[Kind]>>,
    ): Promise<NonNullable<PageMemo[Kind]>> {
      const kept = view.memo[kind];
      if (kept) return kept as NonNullable<PageMemo[Kind]>;
      const made = await make();
      view.memo[kind] = made;
      // Measured again with the page it now holds (the cache re-sizes an entry only when it is replaced).
      const entry = rows.peek(view.page.slug);
      if (entry?.memo === view.memo) rows.set(view.page.slug, { ...entry });
      return made;
    },

    /** The last copy this instance rendered, however old: for when the database is unavailable. */
    stale(slug: string): PageView | null {
      const entry = rows.peek(slug);
      const rendering = entry?.row ? renderings.peek(renderingKey(slug, entry.row.page.revision)) : undefined;
      return entry && rendering ? viewOf(entry, rendering) : null;
    },
  };
}

export type PageViews = ReturnType<typeof createPageViews>;
